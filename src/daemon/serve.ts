/**
 * Assembles and runs the daemon from `bosun run`'s checked settings: the state store and membership (a
 * directory and this replica alone, or ConfigMaps and Leases in a state cluster), the metrics, the logger,
 * Kubernetes Events for steps, the HTTP server; then waits for SIGTERM or SIGINT and shuts down within the
 * timeout. Returns the exit code.
 */
import fs from "node:fs/promises";
import type { RunSettings } from "../cli/run.js";
import { GitHubHost, type GitHubAuth } from "../scm/github-host.js";
import { GitLabHost } from "../scm/gitlab-host.js";
import type { ScmHost } from "../scm/host.js";
import { RUN_SECRET_ENV } from "../cli/run.js";
import { stepEventRecorder } from "../apply/step-events.js";
import { InvalidInputError, asError } from "../errors.js";
import { contextOf, defaultKubeConfig, inClusterKubeConfig } from "../kube/connect.js";
import { KubeRest } from "../kube/rest.js";
import { Daemon } from "./daemon.js";
import { startHttpServer } from "./http.js";
import { createLogger, defaultLogFormat } from "./log.js";
import { SoloMembership, type Membership } from "./membership.js";
import { DaemonMetrics } from "./metrics.js";
import { DEFAULT_REPLICA_RENEW_SECONDS, LeaseMembership } from "./shards.js";
import type { StateStore } from "./state.js";
import { DirectoryStateStore } from "./store-dir.js";
import { ConfigMapStateStore } from "./store-kube.js";
import { loadApiTokens } from "./tokens.js";

/** Runs the daemon until a signal; 0 after a clean shutdown. */
export async function serve(settings: RunSettings, env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger({ format: settings.logFormat ?? defaultLogFormat(process.stdout), level: settings.logLevel });
  const metrics = new DaemonMetrics();
  const { store, membership } = stateBackend(settings, env, log);
  if (store instanceof ConfigMapStateStore) await store.check();
  const apiToken = env[RUN_SECRET_ENV.apiToken];
  const tokens = await loadApiTokens({ ...(settings.apiTokensFile ? { file: settings.apiTokensFile } : {}), ...(apiToken ? { envToken: apiToken } : {}) });
  if (tokens.size === 0) log.warn(`no API token (${RUN_SECRET_ENV.apiToken} or --api-tokens-file): approvals, pauses and resumes through the API are refused`);
  const listening: { url?: string } = {};
  const reviews = await reviewHosts(settings, env);
  const daemon = new Daemon({
    source: settings.source,
    intervalMs: settings.intervalMs,
    driftIntervalMs: settings.driftIntervalMs,
    clusterTimeoutMs: settings.clusterTimeoutMs,
    store,
    membership,
    metrics,
    log,
    env,
    policy: settings.trust.policy,
    allowExecPlugins: settings.trust.allowExecPlugins,
    ...(settings.state.kind === "kubernetes" ? { settleMs: DEFAULT_REPLICA_RENEW_SECONDS * 1000 } : {}),
    publicUrl: () => settings.publicUrl ?? listening.url,
    reviews,
    onStep: stepEventRecorder({
      reportingInstance: settings.replicaId,
      log: (message) => {
        log.warn(message);
      },
    }),
  });
  const http = await startHttpServer({
    listen: settings.listen,
    control: daemon,
    metrics: () => metrics.expose(),
    tokens,
    hooks: {
      ...(env[RUN_SECRET_ENV.githubWebhook] ? { github: env[RUN_SECRET_ENV.githubWebhook] } : {}),
      ...(env[RUN_SECRET_ENV.gitlabWebhook] ? { gitlab: env[RUN_SECRET_ENV.gitlabWebhook] } : {}),
      ...(env[RUN_SECRET_ENV.bearerWebhook] ? { bearer: env[RUN_SECRET_ENV.bearerWebhook] } : {}),
    },
    followedRef: "repo" in settings.source ? settings.source.ref : null,
    reviews: {
      ...(settings.reviews.github ? { github: `${settings.reviews.github.repo.owner}/${settings.reviews.github.repo.repo}` } : {}),
      ...(settings.reviews.gitlab ? { gitlab: settings.reviews.gitlab.project } : {}),
    },
    log: (level, message, fields) => {
      log[level](fields ?? {}, message);
    },
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const words = code === "EADDRINUSE" ? "the address is in use" : code === "EADDRNOTAVAIL" ? "no interface of this machine has that address" : code === "EACCES" ? "permission denied (a port below 1024 needs privileges)" : asError(error).message;
    throw new InvalidInputError(`--listen ${settings.listen}: ${words}`);
  });
  listening.url = http.url;
  log.info({ url: http.url, state: store.description, replica: settings.replicaId, source: "repo" in settings.source ? settings.source.repo : settings.source.fleet }, `bosun run listening on ${http.url}`);
  // Listeners stay for the whole shutdown (`on`, not `once`): execa's exit handler re-raises a signal
  // nobody else listens to, which would kill the process in the middle of the step it is finishing.
  let received: string | undefined;
  const signalled = new Promise<string>((resolve) => {
    const onSignal = (signal: string): void => {
      if (received !== undefined) {
        log.warn({ signal }, `${signal} again: already shutting down (within --shutdown-timeout)`);
        return;
      }
      received = signal;
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  try {
    await daemon.start();
  } catch (error) {
    log.error({ err: asError(error).message }, "the daemon could not start");
    await http.close();
    return 1;
  }
  const signal = await signalled;
  log.info({ signal, timeoutSeconds: settings.shutdownTimeoutMs / 1000 }, "shutting down: no new work; the step in progress ends, locks and Leases are released");
  const started = Date.now();
  // Past the timeout the process exits anyway (an orchestrator would kill it next).
  const deadline = setTimeout(() => {
    log.error("the shutdown timeout passed; exiting");
    process.exit(1);
  }, settings.shutdownTimeoutMs);
  deadline.unref();
  await daemon.stop(settings.shutdownTimeoutMs - 1_000);
  await http.close();
  clearTimeout(deadline);
  log.info({ seconds: (Date.now() - started) / 1000 }, "stopped");
  return 0;
}

/** The code hosts of `--github-repo` and `--gitlab-project`, with their credentials. */
async function reviewHosts(settings: RunSettings, env: NodeJS.ProcessEnv): Promise<ScmHost[]> {
  const hosts: ScmHost[] = [];
  const github = settings.reviews.github;
  if (github) {
    const auth: GitHubAuth =
      github.auth.kind === "token"
        ? { kind: "token", token: env[RUN_SECRET_ENV.githubToken] ?? "" }
        : { kind: "app", appId: github.auth.appId, privateKey: await fs.readFile(github.auth.keyFile, "utf8"), ...(github.auth.installationId === null ? {} : { installationId: github.auth.installationId }) };
    hosts.push(new GitHubHost({ repo: github.repo, auth, ...(github.apiUrl === null ? {} : { apiUrl: github.apiUrl }) }));
  }
  const gitlab = settings.reviews.gitlab;
  if (gitlab) hosts.push(new GitLabHost({ project: gitlab.project, token: env[RUN_SECRET_ENV.gitlabToken] ?? "", ...(gitlab.url === null ? {} : { host: gitlab.url }) }));
  return hosts;
}

function stateBackend(settings: RunSettings, env: NodeJS.ProcessEnv, log: ReturnType<typeof createLogger>): { store: StateStore; membership: Membership } {
  if (settings.state.kind === "directory") return { store: new DirectoryStateStore(settings.state.dir), membership: new SoloMembership(settings.replicaId) };
  const config = settings.state.context === null ? inClusterKubeConfig(env) : contextOf("state cluster", defaultKubeConfig(env), settings.state.context);
  const rest = new KubeRest(config, { cluster: "state cluster" });
  return {
    store: new ConfigMapStateStore(rest, settings.state.namespace),
    membership: new LeaseMembership({
      rest,
      namespace: settings.state.namespace,
      self: settings.replicaId,
      log: (message: string) => {
        log.info({ component: "shards" }, message);
      },
    }),
  };
}
