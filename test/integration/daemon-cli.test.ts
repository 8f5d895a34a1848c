/**
 * `bosun run` through the built CLI, as an operator runs it: against the shared sandbox (alpha and gamma),
 * a fleet served by a real `git http-backend` (test/fixtures/fleets/daemon-cli: one automatic wave, one
 * Kustomize add-on whose Deployment takes about ten seconds to become available), the daemon's own HTTP
 * server, and headless Chromium. Evidence comes from the clusters: the add-on's objects, the lock Lease,
 * the journal, the step Events (their reportingInstance names the replica) and the API servers' audit logs.
 *
 * In order, building on each other's state:
 * 1. a push webhook with a wrong signature changes nothing; a signed one starts the reconcile at once;
 * 2. SIGTERM in the middle of a step: exit 0 within the timeout, the lock released, a second daemon takes
 *    over at once and finishes;
 * 3. SIGKILL in the middle of a step, then a restart: no step runs twice and the revision finishes;
 * 4. gamma's API server frozen: alpha still reconciles on time, gamma is shown unreachable;
 * 5. three replicas sharing state in a state cluster: each cluster reconciled by exactly one; the owner of
 *    alpha killed, another replica takes alpha over;
 * 6. the status page in headless Chromium shows every cluster with its phase.
 */
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openJournal } from "../../src/apply/journal.js";
import { LOCK_NAME } from "../../src/apply/lease.js";
import { BOSUN_NAMESPACE } from "../../src/constants.js";
import { KubeRest } from "../../src/kube/rest.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { readState } from "../../src/sandbox/state.js";
import { dumpDom } from "../support/browser.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { freePort } from "../support/net.js";
import { BOSUN_CLI, deleteNamespaces, eventually, forgetAddons, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/daemon-cli");
const NAMESPACE = "dmnc-app";
const STATE_NAMESPACE = "dmnc-state";
const ADDONS = ["dmnc-config", "dmnc-app"];
const CLUSTERS = ["alpha", "gamma"] as const;
type ClusterName = (typeof CLUSTERS)[number];
const clients = { alpha: sandboxCluster("alpha"), gamma: sandboxCluster("gamma"), beta: sandboxCluster("beta") };
const WEBHOOK_SECRET = "webhook-secret-for-the-daemon-tests";
const API_TOKEN = "api-token-for-the-daemon-tests";

let git: GitServer;
let url: string;
let work: string;
let release = 1;
const frozen = new Set<number>();

interface RunningDaemon {
  child: ResultPromise;
  server: string;
  output: () => string;
}
const running: RunningDaemon[] = [];


/** Starts `bosun run` on a free port; resolves once `/healthz` answers. */
async function startDaemon(extra: readonly string[], env: Record<string, string> = {}): Promise<RunningDaemon> {
  const port = await freePort();
  const child = execa(process.execPath, [BOSUN_CLI, "run", "--repo", url, "--ref", "main", "--listen", `127.0.0.1:${port}`, "--interval", "1h", "--drift-interval", "1h", "--log-format", "json", ...extra], {
    env: { KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize, BOSUN_HELM: sharedSandbox().binaries.helm, BOSUN_CACHE_DIR: path.join(work, "cache"), BOSUN_WEBHOOK_SECRET: WEBHOOK_SECRET, BOSUN_API_TOKEN: API_TOKEN, ...env },
    reject: false,
    all: true,
    buffer: true,
    // A SIGTERM from a test must stay a SIGTERM: the daemon's shutdown is what is under test.
    forceKillAfterDelay: false,
  });
  let text = "";
  child.all.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const daemon: RunningDaemon = { child, server: `http://127.0.0.1:${port}`, output: () => text };
  running.push(daemon);
  await eventually(`bosun run on port ${port}`, async () => ((await fetch(`${daemon.server}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 60_000);
  return daemon;
}

async function status(daemon: RunningDaemon): Promise<{ targetRevision: string | null; ready: boolean; clusters: { name: string; phase: string; revision: string | null; lastError: string | null }[] }> {
  const response = await fetch(`${daemon.server}/api/v1/status`);
  return (await response.json()) as never;
}

async function converged(daemon: RunningDaemon, revision: string, clusters: readonly ClusterName[] = CLUSTERS): Promise<void> {
  await eventually(
    `${clusters.join(", ")} converged at ${revision.slice(0, 8)}`,
    async () => {
      const s = await status(daemon);
      return clusters.every((name) => s.clusters.find((c) => c.name === name)?.revision === revision) ? true : undefined;
    },
    180_000,
  );
}

async function releaseOf(cluster: ClusterName): Promise<string | undefined> {
  const cm = await clients[cluster].core.readNamespacedConfigMap({ name: "dmnc-app", namespace: NAMESPACE }).catch(() => undefined);
  return cm?.data?.release;
}

/** Pushes a commit that bumps the add-on's release (ConfigMap and Deployment annotation): a new rollout. */
async function bump(): Promise<string> {
  release += 1;
  const value = String(release);
  return git.push("fleet", `release ${value}`, async (dir) => {
    for (const file of ["addons/config/configmap.yaml", "addons/app/deployment.yaml"]) {
      const full = path.join(dir, file);
      await fs.writeFile(full, (await fs.readFile(full, "utf8")).replace(/release: "\d+"/, `release: "${value}"`));
    }
  });
}

/** A GitHub push delivery for `main` at `after`, signed with `secret`. */
async function githubPush(daemon: RunningDaemon, after: string, secret: string): Promise<Response> {
  const body = JSON.stringify({ ref: "refs/heads/main", before: "0".repeat(40), after, repository: { full_name: "acme/fleet" } });
  return fetch(`${daemon.server}/hooks/git`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": await sign(secret, body) },
    body,
  });
}

async function journalEntries(cluster: ClusterName) {
  return openJournal(new KubeRest(sandboxRest(cluster).kubeConfig, { cluster }), cluster, { runId: "reader", planRevision: null }).entries();
}

/** The step Events of the add-on's apply on `cluster` since `since`, by replica. */
async function stepEvents(cluster: ClusterName | "beta", since: Date): Promise<{ instance: string; reason: string; note: string }[]> {
  const rest = new KubeRest(sandboxRest(cluster).kubeConfig, { cluster });
  const response = await rest.send({ method: "GET", path: `/apis/events.k8s.io/v1/namespaces/${BOSUN_NAMESPACE}/events` });
  const items = (JSON.parse(response.body) as { items: { reportingInstance?: string; reason?: string; note?: string; eventTime?: string; action?: string }[] }).items;
  return items
    .filter((e) => e.action?.startsWith("addon.") && Date.parse(e.eventTime ?? "") >= since.getTime() - 1000)
    .map((e) => ({ instance: e.reportingInstance ?? "", reason: e.reason ?? "", note: e.note ?? "" }));
}

async function lockHolder(cluster: ClusterName): Promise<string | null> {
  const lease = await clients[cluster].coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }).catch(() => undefined);
  return lease?.spec?.holderIdentity ?? null;
}

async function stepStarted(cluster: ClusterName, revision: string): Promise<void> {
  await eventually(
    `${cluster}'s add-on step started at ${revision.slice(0, 8)}`,
    async () => ((await journalEntries(cluster)).some((e) => e.stepId.endsWith("dmnc-app") && e.state === "started" && e.planRevision === revision) ? true : undefined),
    120_000,
  );
}

function apiServerPid(state: Awaited<ReturnType<typeof readState>>, cluster: ClusterName): number {
  const pid = state?.clusters.find((c) => c.name === cluster)?.processes.find((p) => p.component === "kube-apiserver")?.pid;
  if (pid === undefined) throw new Error(`no kube-apiserver pid for ${cluster} in the sandbox state`);
  return pid;
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-daemon-cli-"));
  for (const cluster of CLUSTERS) await deleteNamespaces(clients[cluster].core, [NAMESPACE]);
  for (const cluster of CLUSTERS) await forgetAddons(cluster, ADDONS);
  await deleteNamespaces(clients.beta.core, [STATE_NAMESPACE]);
  await clients.beta.core.createNamespace({ body: { metadata: { name: STATE_NAMESPACE } } });
  git = await startGitServer();
  url = await git.serveFixture(FIXTURE, "fleet");
});

afterAll(async () => {
  for (const pid of frozen) process.kill(pid, "SIGCONT");
  for (const daemon of running) {
    daemon.child.kill("SIGKILL");
    await daemon.child;
  }
  await git.close();
  for (const cluster of CLUSTERS) await deleteNamespaces(clients[cluster].core, [NAMESPACE]);
  for (const cluster of CLUSTERS) await forgetAddons(cluster, ADDONS);
  await deleteNamespaces(clients.beta.core, [STATE_NAMESPACE]);
  await fs.rm(work, { recursive: true, force: true });
});

describe("bosun run", () => {
  let daemon: RunningDaemon;
  let revision: string;
  const stateDir = (): string => path.join(work, "state");

  it("refuses a push webhook with a wrong signature and reconciles at once on a signed one", async () => {
    daemon = await startDaemon(["--state", stateDir()]);
    revision = (await status(await eventually("ready", async () => ((await status(daemon)).ready ? daemon : undefined), 60_000))).targetRevision ?? "";
    await converged(daemon, revision);
    expect(await releaseOf("alpha")).toBe("1");

    const next = await bump();
    const forged = await githubPush(daemon, next, "not-the-secret");
    expect(forged.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await status(daemon)).targetRevision).toBe(revision);
    expect(await releaseOf("alpha")).toBe("1");

    const pushedAt = Date.now();
    const signed = await githubPush(daemon, next, WEBHOOK_SECRET);
    expect(signed.status).toBe(202);
    await stepStarted("alpha", next);
    const firstStepSeconds = (Date.now() - pushedAt) / 1000;
    await converged(daemon, next);
    expect(await releaseOf("alpha")).toBe(String(release));
    expect(await releaseOf("gamma")).toBe(String(release));
    process.stdout.write(`push webhook → first step started: ${firstStepSeconds.toFixed(1)} s; → both clusters converged: ${((Date.now() - pushedAt) / 1000).toFixed(1)} s\n`);
    revision = next;
  });

  it("on SIGTERM mid-step exits 0 within the timeout, releases the lock, and a second daemon finishes at once", async () => {
    const next = await bump();
    expect((await githubPush(daemon, next, WEBHOOK_SECRET)).status).toBe(202);
    await stepStarted("alpha", next);
    const signalled = Date.now();
    daemon.child.kill("SIGTERM");
    const result = await daemon.child;
    const seconds = (Date.now() - signalled) / 1000;
    expect(result.exitCode, daemon.output().slice(-3000)).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(await lockHolder("alpha")).toBeNull();
    expect(await lockHolder("gamma")).toBeNull();

    const takenOverAt = Date.now();
    daemon = await startDaemon(["--state", stateDir()]);
    await converged(daemon, next);
    process.stdout.write(`SIGTERM → exit 0 in ${seconds.toFixed(1)} s; the next daemon converged ${((Date.now() - takenOverAt) / 1000).toFixed(1)} s after it started\n`);
    expect(await releaseOf("alpha")).toBe(String(release));
    revision = next;
  });

  it("after SIGKILL mid-step, a restarted daemon finishes the revision and runs no step twice", async () => {
    const next = await bump();
    expect((await githubPush(daemon, next, WEBHOOK_SECRET)).status).toBe(202);
    await stepStarted("alpha", next);
    // dmnc-config (first) has succeeded, dmnc-app (the slow one) is running: kill the daemon now.
    const before = (await journalEntries("alpha")).filter((e) => e.planRevision === next);
    const finished = before.find((e) => e.stepId === "alpha/addon.apply/dmnc-config");
    expect(finished?.state, JSON.stringify(before)).toBe("succeeded");
    daemon.child.kill("SIGKILL");
    await daemon.child;
    daemon = await startDaemon(["--state", stateDir()]);
    await converged(daemon, next);
    const after = (await journalEntries("alpha")).filter((e) => e.planRevision === next);
    // The finished step was not run again (same run, one attempt); the interrupted one was finished by the new run.
    expect(after.find((e) => e.stepId === "alpha/addon.apply/dmnc-config")).toMatchObject({ state: "succeeded", runId: finished?.runId, attempts: 1 });
    // The interrupted step: either finished by the new run, or — when the killed run had already applied its
    // objects and only waited for the Deployment — found done by the new plan, which then converged without it.
    const resumed = after.find((e) => e.stepId === "alpha/addon.apply/dmnc-app");
    if (resumed?.state === "succeeded") expect(resumed.runId).not.toBe(finished?.runId);
    else expect(resumed).toMatchObject({ state: "started", runId: finished?.runId, attempts: 1 });
    const deployment = await clients.alpha.apps.readNamespacedDeployment({ name: "dmnc-app", namespace: NAMESPACE });
    expect(deployment.spec?.template.metadata?.annotations?.release).toBe(String(release));
    expect(await releaseOf("alpha")).toBe(String(release));
    revision = next;
  });

  it("reconciles alpha on time while gamma's API server does not answer", async () => {
    const state = await readState(sandboxLayout(sharedSandbox().root, sharedSandbox().name));
    const gamma = apiServerPid(state, "gamma");
    const next = await bump();
    process.kill(gamma, "SIGSTOP");
    frozen.add(gamma);
    try {
      const pushedAt = Date.now();
      expect((await githubPush(daemon, next, WEBHOOK_SECRET)).status).toBe(202);
      await converged(daemon, next, ["alpha"]);
      const seconds = (Date.now() - pushedAt) / 1000;
      await eventually("gamma shown unreachable", async () => ((await status(daemon)).clusters.find((c) => c.name === "gamma")?.phase === "unreachable" ? true : undefined), 120_000);
      process.stdout.write(`alpha converged ${seconds.toFixed(1)} s after the push with gamma frozen\n`);
      // The cluster deadline (--cluster-timeout, 60 s by default) bounds what a frozen cluster costs the others.
      expect(seconds).toBeLessThan(90);
    } finally {
      process.kill(gamma, "SIGCONT");
      frozen.delete(gamma);
    }
    // Thawed, the next reconcile (here: a resume of nothing, the interval in production) brings gamma in.
    const retry = await fetch(`${daemon.server}/api/v1/reconcile`, { method: "POST", headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(retry.status).toBe(202);
    await converged(daemon, next);
    revision = next;
  }, 300_000);

  it("shares the fleet among three replicas: each cluster reconciled by exactly one; a killed replica's clusters taken over", async () => {
    daemon.child.kill("SIGTERM");
    await daemon.child;
    const shared = ["--state", "kubernetes", "--state-context", "beta", "--state-namespace", STATE_NAMESPACE];
    const replicas = await Promise.all(["r1", "r2", "r3"].map((id) => startDaemon([...shared, "--replica-id", id])));
    await eventually("three replicas see each other", async () => {
      const all = await Promise.all(replicas.map(async (r) => ((await (await fetch(`${r.server}/api/v1/status`)).json()) as { replica: { replicas: string[] } }).replica.replicas.length));
      return all.every((n) => n === 3) ? true : undefined;
    }, 60_000);
    const since = new Date();
    const next = await bump();
    for (const replica of replicas) expect((await githubPush(replica, next, WEBHOOK_SECRET)).status).toBe(202);
    await converged(replicas[0] as RunningDaemon, next);
    const owners = new Map<ClusterName, string>();
    for (const cluster of CLUSTERS) {
      const events = await stepEvents(cluster, since);
      const instances = [...new Set(events.map((e) => e.instance))];
      expect(instances, `${cluster} events: ${JSON.stringify(events)}`).toHaveLength(1);
      owners.set(cluster, instances[0] ?? "");
    }
    // The one that owns alpha dies without a word; the others take alpha over within the Lease's duration.
    const alphaOwner = owners.get("alpha") ?? "";
    const victim = replicas[["r1", "r2", "r3"].indexOf(alphaOwner)] as RunningDaemon;
    victim.child.kill("SIGKILL");
    await victim.child;
    const survivors = replicas.filter((r) => r !== victim);
    const killedAt = Date.now();
    await eventually("the survivors see two replicas", async () => {
      const all = await Promise.all(survivors.map(async (r) => ((await (await fetch(`${r.server}/api/v1/status`)).json()) as { replica: { replicas: string[] } }).replica.replicas.length));
      return all.every((n) => n === 2) ? true : undefined;
    }, 60_000);
    const takeover = (Date.now() - killedAt) / 1000;
    const after = new Date();
    const last = await bump();
    for (const replica of survivors) expect((await githubPush(replica, last, WEBHOOK_SECRET)).status).toBe(202);
    await converged(survivors[0] as RunningDaemon, last);
    const alphaEvents = await stepEvents("alpha", after);
    const newOwners = [...new Set(alphaEvents.map((e) => e.instance))];
    expect(newOwners).toHaveLength(1);
    expect(newOwners[0]).not.toBe(alphaOwner);
    process.stdout.write(`owners: ${JSON.stringify(Object.fromEntries(owners))}; ${alphaOwner} killed; the survivors dropped it after ${takeover.toFixed(1)} s; alpha now by ${newOwners[0] ?? "?"}\n`);
    daemon = survivors[0] as RunningDaemon;
    revision = last;
  });

  it("shows every cluster with its phase on the status page, in headless Chromium", async () => {
    const dom = await dumpDom(`${daemon.server}/`);
    for (const cluster of CLUSTERS) expect(dom).toContain(cluster);
    expect(dom).toMatch(/in-sync/);
    expect(dom).toContain(revision.slice(0, 7));
    const page = await dumpDom(`${daemon.server}/clusters/alpha`);
    expect(page).toContain("alpha");
  });

  it("shows every cluster of fleet-example with its status, in headless Chromium", async () => {
    // fleet-example's clusters are not in this sandbox (the demo starts them): canary-1 is shown as what the
    // daemon found — its context is missing — and the later waves wait for it, each with its reason.
    const fleet = path.resolve(import.meta.dirname, "../../fleet-example");
    const port = await freePort();
    const child = execa(process.execPath, [BOSUN_CLI, "run", "--fleet", fleet, "--listen", `127.0.0.1:${port}`, "--state", path.join(work, "example-state"), "--log-format", "json"], {
      env: { KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_CACHE_DIR: path.join(work, "cache") },
      reject: false,
      forceKillAfterDelay: false,
    });
    running.push({ child, server: `http://127.0.0.1:${port}`, output: () => "" });
    const server = `http://127.0.0.1:${port}`;
    await eventually("fleet-example planned", async () => {
      const response = await fetch(`${server}/api/v1/status`).catch(() => undefined);
      if (response?.status !== 200) return undefined;
      const body = (await response.json()) as { clusters: { name: string; phase: string }[] };
      return body.clusters.length === 4 && body.clusters.find((c) => c.name === "canary-1")?.phase === "blocked" ? true : undefined;
    }, 120_000);
    const dom = await dumpDom(`${server}/`);
    for (const cluster of ["canary-1", "staging-eu-1", "prod-eu-1", "prod-us-1"]) expect(dom).toContain(cluster);
    for (const wave of ["canary", "staging", "production"]) expect(dom).toContain(wave);
    expect(dom).toContain("blocked");
    expect(dom).toContain("waiting for wave canary");
    child.kill("SIGTERM");
    expect((await child).exitCode).toBe(0);
  });
});
