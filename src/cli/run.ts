/**
 * `bosun run`: the daemon (src/daemon/). Parses and checks every flag (each also from an environment
 * variable, for containers) before anything starts — a bad value exits 2 naming the flag or the variable —
 * then builds the state store, the membership, the metrics, the logger and the HTTP server, starts the
 * loop and runs until SIGTERM or SIGINT, when it stops taking work, lets the step in progress end, releases
 * its locks and Leases and exits 0 within `--shutdown-timeout`.
 *
 * An unreachable repository at start is not fatal: the loop retries with backoff and `/readyz` says why it
 * is not ready.
 */
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { UsageError, asError } from "../errors.js";
import { parseListen } from "../daemon/http.js";
import { cacheRoot } from "../paths.js";
import { parseDuration } from "../spec/duration.js";
import type { CommandContext } from "./context.js";
import { fleetSelection, MAX_CLUSTER_TIMEOUT_SECONDS } from "./fleet-flags.js";
import { trustSelection, withTrustFlags, type TrustFlags, type TrustSelection } from "./trust-flags.js";
import { checkReadableFile } from "./files.js";

/** The environment variable of every `bosun run` flag (documented in the README and docs/daemon.md). */
export const RUN_ENV = {
  repo: "BOSUN_REPO",
  ref: "BOSUN_REF",
  fleet: "BOSUN_FLEET",
  interval: "BOSUN_INTERVAL",
  driftInterval: "BOSUN_DRIFT_INTERVAL",
  listen: "BOSUN_LISTEN",
  state: "BOSUN_STATE",
  stateContext: "BOSUN_STATE_CONTEXT",
  stateNamespace: "BOSUN_STATE_NAMESPACE",
  replicaId: "BOSUN_REPLICA_ID",
  shutdownTimeout: "BOSUN_SHUTDOWN_TIMEOUT",
  clusterTimeout: "BOSUN_CLUSTER_TIMEOUT",
  logFormat: "BOSUN_LOG_FORMAT",
  logLevel: "BOSUN_LOG_LEVEL",
  apiTokensFile: "BOSUN_API_TOKENS_FILE",
  publicUrl: "BOSUN_PUBLIC_URL",
  githubRepo: "BOSUN_GITHUB_REPO",
  githubApiUrl: "BOSUN_GITHUB_API_URL",
  githubAppId: "BOSUN_GITHUB_APP_ID",
  githubAppKeyFile: "BOSUN_GITHUB_APP_PRIVATE_KEY_FILE",
  githubAppInstallation: "BOSUN_GITHUB_APP_INSTALLATION_ID",
  gitlabProject: "BOSUN_GITLAB_PROJECT",
  gitlabUrl: "BOSUN_GITLAB_URL",
} as const;

/** Secrets read from the environment only (never a flag: a flag shows in `ps`). */
export const RUN_SECRET_ENV = {
  apiToken: "BOSUN_API_TOKEN",
  githubWebhook: "BOSUN_WEBHOOK_SECRET",
  gitlabWebhook: "BOSUN_WEBHOOK_GITLAB_TOKEN",
  bearerWebhook: "BOSUN_WEBHOOK_TOKEN",
  githubToken: "BOSUN_GITHUB_TOKEN",
  gitlabToken: "BOSUN_GITLAB_TOKEN",
} as const;

interface RunFlags extends TrustFlags {
  repo?: string;
  ref?: string;
  fleet?: string;
  interval: string;
  driftInterval: string;
  listen: string;
  state?: string;
  stateContext?: string;
  stateNamespace: string;
  replicaId?: string;
  shutdownTimeout: string;
  clusterTimeout: string;
  logFormat?: string;
  logLevel: string;
  apiTokensFile?: string;
  publicUrl?: string;
  githubRepo?: string;
  githubApiUrl?: string;
  githubAppId?: string;
  githubAppKeyFile?: string;
  githubAppInstallation?: string;
  gitlabProject?: string;
  gitlabUrl?: string;
}

/** The pull-request bots `bosun run` serves (none by default). */
export interface ReviewSettings {
  github: { repo: { owner: string; repo: string }; apiUrl: string | null; auth: { kind: "token" } | { kind: "app"; appId: number; keyFile: string; installationId: number | null } } | null;
  gitlab: { project: string; url: string | null } | null;
}

/** The checked command line of `bosun run`. */
export interface RunSettings {
  source: { repo: string; ref: string } | { fleet: string };
  intervalMs: number;
  driftIntervalMs: number;
  /** `host:port`, checked (src/daemon/http.ts parses it the same way). */
  listen: string;
  state: { kind: "directory"; dir: string } | { kind: "kubernetes"; context: string | null; namespace: string };
  replicaId: string;
  shutdownTimeoutMs: number;
  clusterTimeoutMs: number;
  logFormat: "json" | "text" | null;
  logLevel: string;
  apiTokensFile: string | null;
  /** The status page's address as people reach it (links in alerts), when it is not the listener's. */
  publicUrl: string | null;
  trust: TrustSelection;
  reviews: ReviewSettings;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"];

/** Builds the `run` command. */
export function runCommand(context: CommandContext): Command {
  const option = (flags: string, description: string, env: string, fallback?: string): Option => {
    const made = new Option(flags, description).env(env);
    return fallback === undefined ? made : made.default(fallback);
  };
  const command = new Command("run")
    .description("the reconciler daemon: polls the fleet repository, applies new revisions wave by wave, watches for drift, serves /metrics and a status page")
    .addOption(option("--repo <url>", "fleet Git repository (http(s) URL or local path); credentials from BOSUN_GIT_TOKEN", RUN_ENV.repo))
    .addOption(option("--ref <ref>", "branch or tag of --repo to follow (default main)", RUN_ENV.ref))
    .addOption(option("--fleet <dir>", "a fleet directory instead of --repo (read again at every interval)", RUN_ENV.fleet))
    .addOption(option("--interval <duration>", "how often to fetch the repository", RUN_ENV.interval, "1m"))
    .addOption(option("--drift-interval <duration>", "how often to plan converged clusters to find drift", RUN_ENV.driftInterval, "5m"))
    .addOption(option("--listen <host:port>", "address of the HTTP server (health, metrics, status page, API, webhooks)", RUN_ENV.listen, "127.0.0.1:8080"))
    .addOption(option("--state <dir|kubernetes>", `where the daemon keeps its state: a directory (default ${path.join("<cache>", "daemon")}) or kubernetes (ConfigMaps and Leases in a state cluster)`, RUN_ENV.state))
    .addOption(option("--state-context <name>", "kubeconfig context of the state cluster for --state kubernetes (default: in-cluster config)", RUN_ENV.stateContext))
    .addOption(option("--state-namespace <namespace>", "namespace of the state ConfigMaps and Leases", RUN_ENV.stateNamespace, "bosun-system"))
    .addOption(option("--replica-id <id>", "this replica's name among the daemons sharing the fleet (default the host name)", RUN_ENV.replicaId))
    .addOption(option("--shutdown-timeout <duration>", "how long SIGTERM may take: the step in progress ends, locks are released", RUN_ENV.shutdownTimeout, "60s"))
    .addOption(option("--cluster-timeout <duration>", "how long observing one cluster may take", RUN_ENV.clusterTimeout, "60s"))
    .addOption(option("--log-format <json|text>", "log lines as JSON or as text (default text on a terminal, else JSON)", RUN_ENV.logFormat))
    .addOption(option("--log-level <level>", `least level logged (${LOG_LEVELS.join(", ")})`, RUN_ENV.logLevel, "info"))
    .addOption(option("--public-url <url>", "the status page's address as people reach it (behind a proxy or an Ingress), for links in alerts", RUN_ENV.publicUrl))
    .addOption(option("--api-tokens-file <file>", `bearer tokens of the mutating API, one "name token" per line (or one token in ${RUN_SECRET_ENV.apiToken})`, RUN_ENV.apiTokensFile))
    .addOption(option("--github-repo <owner/name>", `plan the pull requests of this GitHub repository (the fleet repository) at POST /hooks/github; token in ${RUN_SECRET_ENV.githubToken}, or a GitHub App`, RUN_ENV.githubRepo))
    .addOption(option("--github-api-url <url>", "GitHub's API (GitHub Enterprise Server: https://HOST/api/v3)", RUN_ENV.githubApiUrl))
    .addOption(option("--github-app-id <id>", "authenticate as this GitHub App instead of with a token", RUN_ENV.githubAppId))
    .addOption(option("--github-app-private-key-file <file>", "the GitHub App's private key (PEM)", RUN_ENV.githubAppKeyFile))
    .addOption(option("--github-app-installation-id <id>", "the App's installation on the repository (default: looked up)", RUN_ENV.githubAppInstallation))
    .addOption(option("--gitlab-project <path>", `plan the merge requests of this GitLab project (group/name or id) at POST /hooks/gitlab; token in ${RUN_SECRET_ENV.gitlabToken}`, RUN_ENV.gitlabProject))
    .addOption(option("--gitlab-url <url>", "the GitLab instance (default https://gitlab.com)", RUN_ENV.gitlabUrl));
  return withTrustFlags(command, { plugins: true }).action(async (flags: RunFlags) => {
    const settings = await runSettings(flags, process.env);
    if (context.checkOnly) return;
    const { serve } = await import("../daemon/serve.js");
    context.setExitCode(await serve(settings, process.env));
  });
}

/** Checks every flag; a usage error names the flag (or its variable). */
export async function runSettings(flags: RunFlags, env: NodeJS.ProcessEnv): Promise<RunSettings> {
  const trust = trustSelection(flags, env);
  if (flags.repo !== undefined && flags.fleet !== undefined) throw new UsageError(`give either --repo (${RUN_ENV.repo}) or --fleet (${RUN_ENV.fleet}), not both`);
  if (flags.repo === undefined && flags.fleet === undefined) throw new UsageError(`give --repo URL (or ${RUN_ENV.repo}), or --fleet DIR (or ${RUN_ENV.fleet})`);
  if (flags.fleet !== undefined && flags.ref !== undefined) throw new UsageError("--ref goes with --repo, not --fleet");
  const clusterTimeout = seconds(`--cluster-timeout (${RUN_ENV.clusterTimeout})`, flags.clusterTimeout, MAX_CLUSTER_TIMEOUT_SECONDS);
  const selection = await fleetSelection({
    ...(flags.repo !== undefined ? { repo: flags.repo, ref: flags.ref ?? "main" } : { fleet: flags.fleet }),
    cluster: [],
    timeout: `${String(clusterTimeout)}s`,
  });
  const interval = seconds(`--interval (${RUN_ENV.interval})`, flags.interval, 24 * 3600);
  const drift = seconds(`--drift-interval (${RUN_ENV.driftInterval})`, flags.driftInterval, 24 * 3600);
  const shutdown = seconds(`--shutdown-timeout (${RUN_ENV.shutdownTimeout})`, flags.shutdownTimeout, 3600);
  if (interval < 5) throw new UsageError("--interval: at least 5s (a Git server is not polled faster)");
  if (drift < 10) throw new UsageError("--drift-interval: at least 10s");
  if (shutdown < 5) throw new UsageError("--shutdown-timeout: at least 5s (locks and Leases are released within it)");
  if (flags.logFormat !== undefined && flags.logFormat !== "json" && flags.logFormat !== "text") throw new UsageError(`--log-format: json or text, not ${JSON.stringify(flags.logFormat)}`);
  if (!LOG_LEVELS.includes(flags.logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(flags.logLevel)}`);
  if (flags.apiTokensFile !== undefined) await checkReadableFile("--api-tokens-file", flags.apiTokensFile, 1024 * 1024);
  const replicaId = flags.replicaId ?? os.hostname();
  if (!/^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$/.test(replicaId)) throw new UsageError(`--replica-id: letters, digits, '-', '_' and '.', at most 128, not ${JSON.stringify(replicaId)}`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.stateNamespace)) throw new UsageError(`--state-namespace: a DNS-1123 label, not ${JSON.stringify(flags.stateNamespace)}`);
  const stateKind = flags.state === "kubernetes" ? "kubernetes" : "directory";
  if (flags.stateContext !== undefined && stateKind !== "kubernetes") throw new UsageError("--state-context goes with --state kubernetes");
  return {
    source: selection.source,
    intervalMs: interval * 1000,
    driftIntervalMs: drift * 1000,
    listen: checkListen(flags.listen),
    state:
      stateKind === "kubernetes"
        ? { kind: "kubernetes", context: flags.stateContext ?? null, namespace: flags.stateNamespace }
        : { kind: "directory", dir: path.resolve(flags.state ?? path.join(cacheRoot(), "daemon")) },
    replicaId,
    shutdownTimeoutMs: shutdown * 1000,
    clusterTimeoutMs: clusterTimeout * 1000,
    logFormat: flags.logFormat === "json" || flags.logFormat === "text" ? flags.logFormat : null,
    logLevel: flags.logLevel,
    apiTokensFile: flags.apiTokensFile ?? null,
    publicUrl: checkPublicUrl(flags.publicUrl),
    trust,
    reviews: await reviewSettings(flags, env, selection.source),
  };
}

/** The pull-request bots' settings; every mistake names its flag or variable. */
async function reviewSettings(flags: RunFlags, env: NodeJS.ProcessEnv, source: RunSettings["source"]): Promise<ReviewSettings> {
  const appFlags = [flags.githubAppId, flags.githubAppKeyFile, flags.githubAppInstallation, flags.githubApiUrl].some((f) => f !== undefined);
  if (flags.githubRepo === undefined && appFlags) throw new UsageError(`--github-app-* and --github-api-url go with --github-repo (${RUN_ENV.githubRepo})`);
  if (flags.gitlabProject === undefined && flags.gitlabUrl !== undefined) throw new UsageError(`--gitlab-url goes with --gitlab-project (${RUN_ENV.gitlabProject})`);
  if ((flags.githubRepo !== undefined || flags.gitlabProject !== undefined) && !("repo" in source)) {
    throw new UsageError("--github-repo and --gitlab-project plan heads fetched from the fleet repository: give --repo, not --fleet");
  }
  let github: ReviewSettings["github"] = null;
  if (flags.githubRepo !== undefined) {
    const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(flags.githubRepo);
    if (match === null || match[2] === "." || match[2] === "..") throw new UsageError(`--github-repo (${RUN_ENV.githubRepo}): owner/name, not ${JSON.stringify(flags.githubRepo)}`);
    const apiUrl = flags.githubApiUrl === undefined ? null : httpUrl(`--github-api-url (${RUN_ENV.githubApiUrl})`, flags.githubApiUrl);
    let auth: NonNullable<ReviewSettings["github"]>["auth"];
    if (flags.githubAppId !== undefined || flags.githubAppKeyFile !== undefined) {
      if (flags.githubAppId === undefined || flags.githubAppKeyFile === undefined) throw new UsageError(`a GitHub App needs both --github-app-id (${RUN_ENV.githubAppId}) and --github-app-private-key-file (${RUN_ENV.githubAppKeyFile})`);
      const appId = positiveInteger(`--github-app-id (${RUN_ENV.githubAppId})`, flags.githubAppId);
      await checkReadableFile("--github-app-private-key-file", flags.githubAppKeyFile, 64 * 1024);
      const installationId = flags.githubAppInstallation === undefined ? null : positiveInteger(`--github-app-installation-id (${RUN_ENV.githubAppInstallation})`, flags.githubAppInstallation);
      auth = { kind: "app", appId, keyFile: path.resolve(flags.githubAppKeyFile), installationId };
    } else {
      if (flags.githubAppInstallation !== undefined) throw new UsageError("--github-app-installation-id goes with --github-app-id");
      if ((env[RUN_SECRET_ENV.githubToken] ?? "") === "") throw new UsageError(`--github-repo: set ${RUN_SECRET_ENV.githubToken}, or --github-app-id with --github-app-private-key-file`);
      auth = { kind: "token" };
    }
    github = { repo: { owner: match[1] ?? "", repo: match[2] ?? "" }, apiUrl, auth };
  }
  let gitlab: ReviewSettings["gitlab"] = null;
  if (flags.gitlabProject !== undefined) {
    if (!/^(\d+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$/.test(flags.gitlabProject)) throw new UsageError(`--gitlab-project (${RUN_ENV.gitlabProject}): group/name or a numeric id, not ${JSON.stringify(flags.gitlabProject)}`);
    if ((env[RUN_SECRET_ENV.gitlabToken] ?? "") === "") throw new UsageError(`--gitlab-project: set ${RUN_SECRET_ENV.gitlabToken} (an access token with the api scope)`);
    gitlab = { project: flags.gitlabProject, url: flags.gitlabUrl === undefined ? null : httpUrl(`--gitlab-url (${RUN_ENV.gitlabUrl})`, flags.gitlabUrl) };
  }
  return { github, gitlab };
}

function httpUrl(flag: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag}: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`${flag}: http or https, not ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash) throw new UsageError(`${flag}: no credentials, query or fragment in the URL`);
  return url.toString().replace(/\/+$/, "");
}

function positiveInteger(flag: string, text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`${flag}: a positive integer, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** `host:port` where host is an IP address (`127.0.0.1`, `0.0.0.0`, `[::1]`) or `localhost`: never a name to resolve. */
function checkListen(text: string): string {
  let host: string;
  try {
    host = parseListen(text).host;
  } catch (error) {
    throw new UsageError(`--listen: ${asError(error).message}`);
  }
  if (host !== "localhost" && net.isIP(host) === 0) throw new UsageError(`--listen: ${JSON.stringify(host)} is not an IP address (give 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080)`);
  return text;
}

function checkPublicUrl(text: string | undefined): string | null {
  if (text === undefined) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--public-url (${RUN_ENV.publicUrl}): not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`--public-url (${RUN_ENV.publicUrl}): http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new UsageError(`--public-url (${RUN_ENV.publicUrl}): no credentials in the URL`);
  return url.toString().replace(/\/+$/, "");
}

function seconds(flag: string, text: string, most: number): number {
  const parsed = parseDuration(text);
  if ("problem" in parsed) throw new UsageError(`${flag}: ${parsed.problem}`);
  if (parsed.seconds <= 0) throw new UsageError(`${flag}: must be longer than 0s`);
  if (parsed.seconds > most) throw new UsageError(`${flag}: ${text} is longer than the most, ${String(most)}s`);
  return parsed.seconds;
}
