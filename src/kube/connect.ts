/**
 * Turns a cluster's `connection` from the spec into a kubeconfig with the right current context. The
 * fleet repository only names a context, a file or an environment variable: the credentials stay on the
 * machine running bosun.
 */
import os from "node:os";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.js";
import type { Connection } from "../spec/types.js";

/** How messages name the default kubeconfig. */
const DEFAULT_KUBECONFIG = "the default kubeconfig ($KUBECONFIG or ~/.kube/config)";

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
 * The kubeconfig for one connection, with its context selected. `base` is the default kubeconfig, read
 * once per run (used for `context:` connections). Errors name the cluster and what is missing.
 */
export function kubeConfigFor(cluster: string, connection: Connection, env: NodeJS.ProcessEnv, base: () => k8s.KubeConfig): k8s.KubeConfig {
  switch (connection.kind) {
    case "context":
      return withServerUrl(cluster, withContext(cluster, copyOf(base()), connection.context, DEFAULT_KUBECONFIG), DEFAULT_KUBECONFIG);
    case "kubeconfig-file":
      return withServerUrl(cluster, fromFile(cluster, expandHome(connection.path), connection.context), expandHome(connection.path));
    case "kubeconfig-env": {
      // Own properties only: a name such as `constructor` or `toString` must not find Object.prototype's.
      const value: unknown = Object.hasOwn(env, connection.env) ? env[connection.env] : undefined;
      const file = typeof value === "string" ? value : undefined;
      if (file === undefined || file === "") {
        throw new InvalidInputError(`cluster ${cluster}: environment variable ${connection.env} (its kubeconfig path) is not set`);
      }
      return withServerUrl(cluster, fromFile(cluster, expandHome(file), connection.context), expandHome(file));
    }
  }
}

/** Selects `context` in a kubeconfig by name: the management cluster of a Cluster API cluster, for instance. */
export function contextOf(cluster: string, base: k8s.KubeConfig, context: string): k8s.KubeConfig {
  return withServerUrl(cluster, withContext(cluster, copyOf(base), context, DEFAULT_KUBECONFIG), DEFAULT_KUBECONFIG);
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

function fromFile(cluster: string, file: string, context: string | null): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new InvalidInputError(`cluster ${cluster}: cannot read kubeconfig ${file}: ${kubeconfigProblem(error)}`);
  }
  return context === null ? kc : withContext(cluster, kc, context, file);
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
