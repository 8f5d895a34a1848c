/**
 * The daemon's loop (src/daemon/daemon.ts) in this process, against the shared sandbox and a real
 * `git http-backend`: the fleet test/fixtures/fleets/daemon (alpha in an automatic wave, gamma in a manual
 * one, one Kustomize add-on) is served from a bare repository; the tests push commits to it as a user
 * would merge pull requests, and check the clusters themselves (the ConfigMap, the API server's audit
 * log), the state directory and the metrics.
 *
 * The tests run in order and build on each other's state:
 * 1. the first revision converges alpha; gamma waits for an approval; approved, it converges;
 * 2. a pushed commit is applied to alpha and waits for gamma's approval again;
 * 3. an invalid revision applies nothing and shows its file:line; the next good revision applies;
 * 4. a paused cluster is not changed until resumed;
 * 5. a hand edit is drift (state, metrics) and is reverted only with drift.correct;
 * 6. a restarted daemon re-applies nothing; idle ticks send no write and spawn no kustomize;
 * 7. a window that opens a minute from now defers the cluster, which is applied when it opens.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { SoloMembership } from "../../src/daemon/membership.js";
import { DaemonMetrics } from "../../src/daemon/metrics.js";
import { clusterKey, readState, emptyClusterState, type ClusterState } from "../../src/daemon/state.js";
import { DirectoryStateStore } from "../../src/daemon/store-dir.js";
import { DEFAULT_ALLOWED_ENV } from "../../src/spec/environment.js";
import { auditMark, bosunWrites } from "../support/audit.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { deleteNamespaces, eventually, forgetAddons, sandboxCluster, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/daemon");
const NAMESPACE = "dmn-settings";
const clients = { alpha: sandboxCluster("alpha"), gamma: sandboxCluster("gamma") };

let git: GitServer;
let url: string;
let work: string;
let stateDir: string;
let kustomizeLog: string;
let env: NodeJS.ProcessEnv;
const logLines: string[] = [];
const daemons: Daemon[] = [];

/** Pushes a commit to the served repository after `edit` changed a clone of it; returns its id. */
async function push(edit: (dir: string) => Promise<void>, message: string): Promise<string> {
  return git.push("fleet", message, edit);
}

async function setLevel(dir: string, level: string): Promise<void> {
  const file = path.join(dir, "addons/settings/configmap.yaml");
  await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace(/level: ".*"/, `level: "${level}"`));
}

async function level(cluster: "alpha" | "gamma"): Promise<string | undefined> {
  const cm = await clients[cluster].core.readNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE }).catch(() => undefined);
  return cm?.data?.level;
}

function newDaemon(options: { intervalMs?: number; driftIntervalMs?: number } = {}): Daemon {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      done();
    },
  });
  const daemon = new Daemon({
    source: { repo: url, ref: "main" },
    intervalMs: options.intervalMs ?? 3_600_000,
    driftIntervalMs: options.driftIntervalMs ?? 3_600_000,
    clusterTimeoutMs: 60_000,
    store: new DirectoryStateStore(stateDir),
    membership: new SoloMembership("test-replica"),
    metrics: new DaemonMetrics({ defaultMetrics: false }),
    log: pino({ level: "debug" }, sink),
    env,
    policy: { allowedSecretEnv: [...DEFAULT_ALLOWED_ENV], allowedChartRepos: [], allowInternalChartRepos: false, allowRemoteKustomize: false },
    allowExecPlugins: false,
  });
  daemons.push(daemon);
  return daemon;
}

async function clusterState(name: string): Promise<ClusterState> {
  return readState(new DirectoryStateStore(stateDir), clusterKey(name), () => emptyClusterState(name));
}

async function settle(daemon: Daemon): Promise<void> {
  // A trigger queues work; idle() resolves once it and anything it queued ran.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await daemon.idle();
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-daemon-"));
  stateDir = path.join(work, "state");
  kustomizeLog = path.join(work, "kustomize.log");
  // Every kustomize bosun runs goes through this wrapper, so the log counts spawns from outside bosun.
  const wrapper = path.join(work, "kustomize");
  await fs.writeFile(wrapper, `#!/bin/sh\necho "$@" >> '${kustomizeLog}'\nexec '${sharedSandbox().binaries.kustomize}' "$@"\n`, { mode: 0o755 });
  env = { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_KUSTOMIZE: wrapper, BOSUN_HELM: sharedSandbox().binaries.helm, BOSUN_CACHE_DIR: path.join(work, "cache") };
  await deleteNamespaces(clients.alpha.core, [NAMESPACE]);
  await deleteNamespaces(clients.gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  git = await startGitServer();
  url = await git.serveFixture(FIXTURE, "fleet");
});

afterAll(async () => {
  for (const daemon of daemons) await daemon.stop(10_000);
  await git.close();
  await deleteNamespaces(clients.alpha.core, [NAMESPACE]);
  await deleteNamespaces(clients.gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  await fs.rm(work, { recursive: true, force: true });
});

describe("bosun run's loop", () => {
  let daemon: Daemon;
  let revision: string;

  it("converges the automatic wave, waits for an approval of the manual one, then converges it", async () => {
    daemon = newDaemon();
    await daemon.start();
    await settle(daemon);
    const status = daemon.status();
    expect(status.ready).toBe(true);
    revision = status.targetRevision ?? "";
    expect(revision).toMatch(/^[0-9a-f]{40}$/);
    expect(await level("alpha")).toBe("1");
    expect(await level("gamma")).toBeUndefined();
    expect(status.clusters.find((c) => c.name === "alpha")?.phase).toBe("in-sync");
    expect(status.clusters.find((c) => c.name === "gamma")?.phase).toBe("awaiting-approval");
    expect(status.waves.find((w) => w.name === "second")?.awaitingApproval).toBe(true);
    expect((await clusterState("alpha")).convergedRevision).toBe(revision);

    const approval = await daemon.approve("second", revision.slice(0, 8), { token: "ops", by: "alice" });
    expect(approval).toMatchObject({ wave: "second", revision, by: "ops (alice)" });
    await settle(daemon);
    expect(await level("gamma")).toBe("1");
    expect(daemon.status().clusters.find((c) => c.name === "gamma")?.phase).toBe("in-sync");
  });

  it("applies a pushed revision to the automatic wave and asks again for the manual one", async () => {
    revision = await push((dir) => setLevel(dir, "2"), "level 2");
    daemon.trigger("test push");
    await settle(daemon);
    expect(daemon.status().targetRevision).toBe(revision);
    expect(await level("alpha")).toBe("2");
    expect(await level("gamma")).toBe("1");
    expect(daemon.status().clusters.find((c) => c.name === "gamma")?.phase).toBe("awaiting-approval");
    await expect(daemon.approve("first", revision, { token: "ops", by: "" })).rejects.toThrow(/applies automatically/);
    await expect(daemon.approve("second", "0000000", { token: "ops", by: "" })).rejects.toThrow(/not the target revision/);
    await daemon.approve("second", revision, { token: "ops", by: "" });
    await settle(daemon);
    expect(await level("gamma")).toBe("2");
  });

  it("applies nothing from an invalid revision, shows its errors, and applies the next good one", async () => {
    const mark = await auditMark("alpha");
    const bad = await push(async (dir) => {
      await setLevel(dir, "3");
      await fs.appendFile(path.join(dir, "clusters/alpha.yaml"), "  unknownField: true\n");
    }, "invalid");
    daemon.trigger("test push");
    await settle(daemon);
    const status = daemon.status();
    expect(status.targetRevision).toBe(revision);
    expect(status.latestRevision).toBe(bad);
    expect(status.invalidRevision?.revision).toBe(bad);
    expect(status.invalidRevision?.errors[0]).toMatchObject({ file: "clusters/alpha.yaml" });
    expect(status.invalidRevision?.errors[0]?.line).toBeGreaterThan(0);
    expect(await level("alpha")).toBe("2");
    expect(bosunWrites(await mark())).toEqual([]);

    const good = await push(async (dir) => {
      const file = path.join(dir, "clusters/alpha.yaml");
      await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace("  unknownField: true\n", ""));
    }, "fixed");
    daemon.trigger("test push");
    await settle(daemon);
    expect(daemon.status().invalidRevision).toBeNull();
    expect(daemon.status().targetRevision).toBe(good);
    expect(await level("alpha")).toBe("3");
    revision = good;
  });

  it("changes no paused cluster until it is resumed", async () => {
    await daemon.pause("cluster", "alpha", { token: "ops", by: "bob" }, "investigating");
    const next = await push((dir) => setLevel(dir, "4"), "level 4");
    daemon.trigger("test push");
    await settle(daemon);
    expect(daemon.status().targetRevision).toBe(next);
    expect(await level("alpha")).toBe("3");
    expect(daemon.status().clusters.find((c) => c.name === "alpha")?.phase).toBe("paused");
    await daemon.resume("cluster", "alpha", { token: "ops", by: "bob" });
    await settle(daemon);
    expect(await level("alpha")).toBe("4");
    revision = next;
  });

  it("records a hand edit as drift with its diff, and reverts it only with drift.correct", async () => {
    await clients.alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "hand-edited" }] });
    daemon.checkDrift("test");
    await settle(daemon);
    const drifted = await clusterState("alpha");
    expect(drifted.drift?.revision).toBe(revision);
    expect(drifted.drift?.diff).toContain("hand-edited");
    expect(await level("alpha")).toBe("hand-edited");
    expect(daemon.status().clusters.find((c) => c.name === "alpha")?.phase).toBe("drifted");
    const metrics = await (daemon as unknown as { options: { metrics: DaemonMetrics } }).options.metrics.expose();
    expect(metrics.body).toMatch(/bosun_drift\{cluster="alpha"\} 1/);
    expect(metrics.body).toMatch(/bosun_drift_detected_total\{cluster="alpha"\} 1/);

    // The same drift on the next tick is the same drift: not detected again.
    daemon.checkDrift("test");
    await settle(daemon);
    expect((await clusterState("alpha")).drift?.fingerprint).toBe(drifted.drift?.fingerprint);
    expect((await (daemon as unknown as { options: { metrics: DaemonMetrics } }).options.metrics.expose()).body).toMatch(/bosun_drift_detected_total\{cluster="alpha"\} 1/);

    revision = await push(async (dir) => {
      const file = path.join(dir, "clusters/alpha.yaml");
      await fs.writeFile(file, `${await fs.readFile(file, "utf8")}  drift: { correct: true }\n`);
    }, "correct drift on alpha");
    daemon.trigger("test push");
    await settle(daemon);
    // A new revision: alpha converges at it by applying its plan, which reverts the edit.
    expect(await level("alpha")).toBe("4");
    await clients.alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "edited-again" }] });
    daemon.checkDrift("test");
    await settle(daemon);
    expect(await level("alpha")).toBe("4");
    expect((await clusterState("alpha")).drift?.correctedAt).toBeDefined();
    daemon.checkDrift("test");
    await settle(daemon);
    const resolved = await clusterState("alpha");
    expect(resolved.drift).toBeNull();
    expect(resolved.resolvedDrift?.resolvedAt).toBeDefined();
  });

  it("after a restart re-applies nothing, and idle ticks send no write and spawn no kustomize", async () => {
    await daemon.approve("second", revision, { token: "ops", by: "" });
    await settle(daemon);
    expect(await level("gamma")).toBe("4");
    await daemon.stop(10_000);

    const marks = { alpha: await auditMark("alpha"), gamma: await auditMark("gamma") };
    daemon = newDaemon();
    await daemon.start();
    await settle(daemon);
    expect(daemon.status().clusters.map((c) => c.phase)).toEqual(["in-sync", "in-sync"]);
    // The first drift check renders (a new process has an empty cache); the next ten must not.
    daemon.checkDrift("warm-up");
    await settle(daemon);
    const spawnsBefore = (await fs.readFile(kustomizeLog, "utf8")).split("\n").length;
    for (let tick = 0; tick < 10; tick += 1) {
      daemon.trigger("idle tick");
      daemon.checkDrift("idle tick");
      await settle(daemon);
    }
    const spawnsAfter = (await fs.readFile(kustomizeLog, "utf8")).split("\n").length;
    expect(spawnsAfter - spawnsBefore).toBe(0);
    expect(bosunWrites(await marks.alpha())).toEqual([]);
    expect(bosunWrites(await marks.gamma())).toEqual([]);
  });

  it("defers a cluster outside its window and applies it when the window opens", async () => {
    // A window that opens at the next whole minute at least 45 s away (cron has minute resolution).
    const opens = new Date(Math.ceil((Date.now() + 45_000) / 60_000) * 60_000);
    revision = await push(async (dir) => {
      await setLevel(dir, "5");
      const file = path.join(dir, "fleet.yaml");
      await fs.writeFile(
        file,
        `${await fs.readFile(file, "utf8")}  windows:\n    - name: soon\n      kind: allow\n      schedule: "${opens.getUTCMinutes()} ${opens.getUTCHours()} * * *"\n      duration: 10m\n      timeZone: UTC\n      selector: { matchLabels: { wave: first } }\n      operations: [addons]\n`,
      );
    }, "window soon");
    daemon.trigger("test push");
    await settle(daemon);
    const deferred = daemon.status().clusters.find((c) => c.name === "alpha");
    expect(deferred?.phase).toBe("deferred");
    expect(deferred?.nextWindow).toBe(opens.toISOString());
    expect(await level("alpha")).toBe("4");
    await eventually("alpha applied when its window opens", async () => ((await level("alpha")) === "5" ? true : undefined), 150_000);
    expect(Date.now()).toBeGreaterThanOrEqual(opens.getTime());
  }, 240_000);
});
