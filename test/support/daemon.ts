/**
 * A `Daemon` for integration tests, in the test's own process: hour-long intervals (the test triggers
 * every loop itself), a directory state store and one replica, its log lines collected, the shared
 * sandbox's kubeconfig and binaries in its environment, and the default, safe operator policy; and its
 * real HTTP server for the webhooks.
 */
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { Daemon, type DaemonOptions } from "../../src/daemon/daemon.js";
import type { HookSecrets } from "../../src/daemon/hooks.js";
import { startHttpServer, type HttpServer, type HttpServerOptions } from "../../src/daemon/http.js";
import { SoloMembership } from "../../src/daemon/membership.js";
import { DaemonMetrics } from "../../src/daemon/metrics.js";
import { DirectoryStateStore } from "../../src/daemon/store-dir.js";
import { ApiTokens } from "../../src/daemon/tokens.js";
import { DEFAULT_ALLOWED_ENV } from "../../src/spec/environment.js";
import { sharedSandbox } from "./sandbox.js";

/** What a test daemon needs: where it keeps its files, what it follows, and anything to change. */
export interface TestDaemonOptions extends Partial<Omit<DaemonOptions, "env">> {
  /** The directory for its state and cache (the test removes it). */
  work: string;
  source: DaemonOptions["source"];
  /** Added to the environment (over the sandbox's KUBECONFIG, binaries and cache). */
  env?: NodeJS.ProcessEnv;
  /** The KUBECONFIG (default the shared sandbox's). */
  kubeconfig?: string;
}

/** A test daemon and the log lines it wrote (pino JSON, one chunk per line). */
export interface TestDaemon {
  daemon: Daemon;
  logs: string[];
  metrics: DaemonMetrics;
}

/** Builds (does not start) a daemon for a test. */
export function testDaemon(options: TestDaemonOptions): TestDaemon {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const { work, env, kubeconfig, ...rest } = options;
  const metrics = rest.metrics ?? new DaemonMetrics({ defaultMetrics: false });
  const daemon = new Daemon({
    intervalMs: 3_600_000,
    driftIntervalMs: 3_600_000,
    clusterTimeoutMs: 60_000,
    store: new DirectoryStateStore(path.join(work, "state")),
    membership: new SoloMembership("test"),
    log: pino({ level: "debug" }, sink),
    policy: { allowedSecretEnv: [...DEFAULT_ALLOWED_ENV], allowedChartRepos: [], allowInternalChartRepos: false, allowRemoteKustomize: false },
    allowExecPlugins: false,
    ...rest,
    metrics,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig ?? sharedSandbox().kubeconfig,
      BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
      BOSUN_HELM: sharedSandbox().binaries.helm,
      BOSUN_CACHE_DIR: path.join(work, "cache"),
      ...env,
    },
  });
  return { daemon, logs, metrics };
}

/** The webhook secrets and bot repositories of {@link testHttpServer}. */
export interface TestHttpOptions {
  hooks: HookSecrets;
  reviews: NonNullable<HttpServerOptions["reviews"]>;
  /** The `/metrics` exposition (default an empty one). */
  metrics?: DaemonMetrics;
}

/** The daemon's real HTTP server on a free port of 127.0.0.1, following `main`, with no API token. */
export async function testHttpServer(daemon: Daemon, options: TestHttpOptions): Promise<HttpServer> {
  return startHttpServer({
    listen: "127.0.0.1:0",
    control: daemon,
    metrics: () => (options.metrics ? options.metrics.expose() : Promise.resolve({ contentType: "text/plain", body: "" })),
    tokens: ApiTokens.of([]),
    hooks: options.hooks,
    followedRef: "main",
    reviews: options.reviews,
    log: () => undefined,
  });
}
