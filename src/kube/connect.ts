/**
 * Turns a cluster's `connection` from the spec into a kubeconfig with the right current context. The
 * fleet repository only names a context, a file or an environment variable: the credentials stay on the
 * machine running bosun.
 *
 * Whoever can open a pull request writes the spec, so what it names is not trusted (docs/adr/0004): a
 * kubeconfig file it names must lie outside the fleet repository and bosun's cache (by real path, so a
 * symlink counts where it points), and the credential plugins of such a file (`exec`, `auth-provider`,
 * which run programs) are refused unless the operator allows them. The operator's own kubeconfig
 * (`$KUBECONFIG`, `~/.kube/config`) is trusted: a spec can only pick one of its contexts, and so only run
 * a command the operator configured.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { readRegularFileSync } from "../bounded-file.js";
import { parseSingleYaml } from "../bounded-yaml.js";
import { InvalidInputError } from "../errors.js";
import type { Connection } from "../spec/types.js";

/** A directory whose files the fleet's author controls, with what it is (for messages). */
export interface UntrustedDir {
  /** Real path (symlinks resolved). */
  dir: string;
  /** e.g. `the fleet repository`, `bosun's cache`. */
  what: string;
}

/** What bosun accepts in a kubeconfig file the spec names (`connection.kubeconfig.path` or `.env`). */
export interface KubeconfigPolicy {
  /** A kubeconfig inside one of these is refused: the pull request could have written it. */
  untrusted: readonly UntrustedDir[];
  /** Run the `exec` and `auth-provider` plugins of such a file (`--allow-exec-plugins`); off by default. */
  allowExecPlugins: boolean;
}

/**
 * A policy for `dirs` (resolved to real paths here; a directory that does not exist is kept as given, so
 * a cache created later is still covered).
 */
export function kubeconfigPolicy(dirs: readonly UntrustedDir[], allowExecPlugins: boolean): KubeconfigPolicy {
  const untrusted = dirs.map(({ dir, what }) => ({ dir: realOrResolved(dir), what }));
  return { untrusted, allowExecPlugins };
}

function realOrResolved(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** Where bosun's default kubeconfig comes from: `$KUBECONFIG` (a path list) or `~/.kube/config`. */
export function defaultKubeConfig(env: NodeJS.ProcessEnv): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const files = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
  try {
    if (files.length === 0) kc.loadFromFile(path.join(os.homedir(), ".kube", "config"));
    // Like kubectl, several files are merged; the first one that sets a name wins.
    else kc.loadFromFile(files[0] as string);
    for (const file of files.slice(1)) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(file);
      // kubectl's rule: the first file that names a cluster, user or context wins. (client-node's
      // mergeConfig throws on a repeated name instead.)
      const has = (list: readonly { name: string }[], name: string): boolean => list.some((item) => item.name === name);
      kc.loadFromOptions({
        clusters: [...kc.clusters, ...more.clusters.filter((c) => !has(kc.clusters, c.name))],
        users: [...kc.users, ...more.users.filter((u) => !has(kc.users, u.name))],
        contexts: [...kc.contexts, ...more.contexts.filter((c) => !has(kc.contexts, c.name))],
        currentContext: kc.currentContext || more.currentContext,
      });
    }
  } catch (error) {
    throw new InvalidInputError(`cannot read the kubeconfig (${files.length > 0 ? "$KUBECONFIG" : "~/.kube/config"}): ${kubeconfigProblem(error)}`);
  }
  return kc;
}

/**
 * The configuration of the cluster this process runs in (a pod's service account), for the daemon's state
 * cluster when no context is named. Refused clearly outside a pod.
 */
export function inClusterKubeConfig(env: NodeJS.ProcessEnv): k8s.KubeConfig {
  if (!env.KUBERNETES_SERVICE_HOST) throw new InvalidInputError("--state kubernetes without --state-context needs in-cluster configuration, and this process is not in a pod (KUBERNETES_SERVICE_HOST is not set): give --state-context");
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster();
  return kc;
}

/**
 * The kubeconfig for one connection, with its context selected. `base` is the default kubeconfig, read
 * once per run (used for `context:` connections). Errors name the cluster and what is missing.
 */
export function kubeConfigFor(
  cluster: string,
  connection: Connection,
  env: NodeJS.ProcessEnv,
  base: () => k8s.KubeConfig,
  policy: KubeconfigPolicy,
): k8s.KubeConfig {
  switch (connection.kind) {
    case "context":
      return withServerUrl(cluster, checkedCommand(cluster, withContext(cluster, copyOf(base()), connection.context, DEFAULT_KUBECONFIG)), DEFAULT_KUBECONFIG);
    case "kubeconfig-file": {
      const what = `kubeconfig ${connection.path} (connection.kubeconfig.path)`;
      return withServerUrl(cluster, fromSpecFile(cluster, expandHome(connection.path), what, connection.context, policy), what);
    }
    case "kubeconfig-env": {
      // The variable's value is never quoted: the spec chose the variable, so its value could be anything.
      // Own properties only: a name such as `constructor` or `toString` must not find Object.prototype's.
      const value: unknown = Object.hasOwn(env, connection.env) ? env[connection.env] : undefined;
      const file = typeof value === "string" ? value : undefined;
      if (file === undefined || file === "") {
        throw new InvalidInputError(`cluster ${cluster}: environment variable ${connection.env} (its kubeconfig path, connection.kubeconfig.env) is not set`);
      }
      const what = `the kubeconfig named by $${connection.env} (connection.kubeconfig.env)`;
      return withServerUrl(cluster, fromSpecFile(cluster, expandHome(file), what, connection.context, policy), what);
    }
  }
}

/** Selects `context` in a kubeconfig by name: the management cluster of a Cluster API cluster, for instance. */
export function contextOf(cluster: string, base: k8s.KubeConfig, context: string): k8s.KubeConfig {
  return withServerUrl(cluster, checkedCommand(cluster, withContext(cluster, copyOf(base), context, DEFAULT_KUBECONFIG)), DEFAULT_KUBECONFIG);
}

/**
 * The selected context must name a cluster of the kubeconfig whose `server` is an http(s) URL: anything
 * else would fail later, deep inside an HTTP client, as an error that is no one's ("No active cluster!",
 * "Invalid URL"). The server is not quoted — a URL can carry userinfo.
 */
function withServerUrl(cluster: string, kc: k8s.KubeConfig, where: string): k8s.KubeConfig {
  const context = kc.getCurrentContext();
  if (!context) throw new InvalidInputError(`cluster ${cluster}: ${where} selects no context (no current-context); name one in the cluster's connection`);
  const server: unknown = kc.getCurrentCluster()?.server;
  if (server === undefined || server === null || server === "") {
    throw new InvalidInputError(`cluster ${cluster}: context "${context}" in ${where} has no cluster with a server`);
  }
  let protocol: string | undefined;
  try {
    protocol = typeof server === "string" ? new URL(server).protocol : undefined;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "https:" && protocol !== "http:") {
    throw new InvalidInputError(`cluster ${cluster}: the server of context "${context}" in ${where} is not an https:// URL`);
  }
  return kc;
}

const DEFAULT_KUBECONFIG = "the default kubeconfig ($KUBECONFIG or ~/.kube/config)";

/** Largest kubeconfig file a spec may name: real ones are a few KiB, with embedded certificates tens. */
export const MAX_KUBECONFIG_BYTES = 1024 * 1024;

const KUBECONFIG_READ_PROBLEMS = {
  missing: "no such file",
  "not-regular": "not a regular file (a pipe, device, socket or symlink)",
  "too-large": `larger than ${MAX_KUBECONFIG_BYTES / 1024 / 1024} MiB`,
  unreadable: "it cannot be read",
} as const;

/** Loads a kubeconfig file the spec named, if the policy allows it; `what` names it in messages. */
function fromSpecFile(cluster: string, file: string, what: string, context: string | null, policy: KubeconfigPolicy): k8s.KubeConfig {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (error) {
    throw new InvalidInputError(`cluster ${cluster}: cannot read ${what}: ${kubeconfigProblem(error)}`);
  }
  const inside = policy.untrusted.find((u) => real === u.dir || real.startsWith(`${u.dir}${path.sep}`));
  if (inside !== undefined) {
    throw new InvalidInputError(
      `cluster ${cluster}: ${what} lies inside ${inside.what} (${inside.dir}), which a pull request can write; ` +
        "a kubeconfig must come from outside the fleet repository and bosun's cache",
    );
  }
  // The real path that was checked (not followed again, so a symlink swapped meanwhile cannot redirect the
  // read); a regular file only (a named pipe would hang, a device never end), within its size, and YAML
  // within the limits every file bosun parses has, before the client's own parser sees it.
  const read = readRegularFileSync(real, MAX_KUBECONFIG_BYTES, { noFollow: true });
  if (!read.ok) throw new InvalidInputError(`cluster ${cluster}: cannot read ${what}: ${KUBECONFIG_READ_PROBLEMS[read.problem]}`);
  const bounded = parseSingleYaml(read.text, { version: "1.1" });
  if (!bounded.ok) throw new InvalidInputError(`cluster ${cluster}: cannot read ${what}: it is not valid YAML within bosun's limits (line ${bounded.problem.line})`);
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(read.text);
    // Relative certificate and key paths belong to the kubeconfig's own directory (as loadFromFile does),
    // never to the working directory — which may be the fleet checkout a pull request wrote.
    kc.makePathsAbsolute(path.dirname(real));
  } catch (error) {
    throw new InvalidInputError(`cluster ${cluster}: cannot read ${what}: ${kubeconfigProblem(error)}`);
  }
  const selected = context === null ? kc : withContext(cluster, kc, context, what);
  const plugin = credentialPlugin(selected.getCurrentUser());
  if (plugin !== undefined && !policy.allowExecPlugins) {
    throw new InvalidInputError(
      `cluster ${cluster}: ${what}: its user "${selected.getCurrentUser()?.name ?? ""}" runs ${plugin}; bosun runs credential plugins ` +
        `only from $KUBECONFIG or ~/.kube/config unless the operator allows them (--allow-exec-plugins or BOSUN_ALLOW_EXEC_PLUGINS=true)`,
    );
  }
  return checkedCommand(cluster, selected);
}

/** The kind of program a kubeconfig user runs for credentials, if any. */
export function credentialPlugin(user: k8s.User | null): string | undefined {
  if (user === null) return undefined;
  if (user.exec !== undefined && user.exec !== null) return "an exec credential plugin";
  if (user.authProvider !== undefined && user.authProvider !== null) return "an auth-provider plugin";
  return undefined;
}

/**
 * Refuses an exec plugin whose command is a relative path such as `./helper`: kubectl resolves it against
 * the kubeconfig's directory, but the Kubernetes client would resolve it against the working directory —
 * which is often the fleet repository's checkout, so the repository would choose the program.
 */
function checkedCommand(cluster: string, kc: k8s.KubeConfig): k8s.KubeConfig {
  const user = kc.getCurrentUser();
  const command = (user?.exec as { command?: unknown } | undefined)?.command;
  if (typeof command === "string" && !path.isAbsolute(command) && command.includes("/")) {
    throw new InvalidInputError(
      `cluster ${cluster}: the exec plugin of kubeconfig user "${user?.name ?? ""}" is a relative path, which would be resolved against ` +
        "the working directory (possibly the fleet checkout); give an absolute path or a command name found on PATH",
    );
  }
  return kc;
}

function withContext(cluster: string, kc: k8s.KubeConfig, context: string, where: string): k8s.KubeConfig {
  if (!kc.getContextObject(context)) throw new InvalidInputError(`cluster ${cluster}: context "${context}" is not in ${where}`);
  kc.setCurrentContext(context);
  return kc;
}

function copyOf(kc: k8s.KubeConfig): k8s.KubeConfig {
  const copy = new k8s.KubeConfig();
  copy.loadFromOptions({ clusters: kc.clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  return copy;
}

/**
 * What went wrong reading a kubeconfig, without quoting it: a YAML parser's message shows the lines
 * around the error, and a kubeconfig's lines are tokens and keys. No `cause` is kept for the same reason.
 */
export function kubeconfigProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  const mark = (error as { mark?: { line?: unknown; column?: unknown } }).mark;
  if (typeof mark?.line === "number") {
    return `not valid YAML at line ${mark.line + 1}${typeof mark.column === "number" ? `, column ${mark.column + 1}` : ""}`;
  }
  return "not a usable kubeconfig (the parser's message is not shown: it may quote credentials)";
}

function expandHome(file: string): string {
  return file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file;
}
