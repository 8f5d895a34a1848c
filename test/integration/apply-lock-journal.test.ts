/**
 * The per-cluster lock and the apply journal against a real API server (cluster `beta` of the shared
 * sandbox): refusal with the holder's name, release, takeover of an expired lease, races between takers
 * (in this process and in a child process), renewal, losing the lock, and journal records that survive a
 * "crash" (a second Journal instance), compare fingerprints and never lose each other's writes.
 */
import path from "node:path";
import { execa } from "execa";
import { V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openJournal } from "../../src/apply/journal.js";
import { JOURNAL_NAME, encodeStepKey } from "../../src/apply/journal-state.js";
import { ClusterLockedError, LOCK_NAME, LockLostError } from "../../src/apply/lease.js";
import { acquireClusterLock, holderIdentity, newRunId, type ClusterLock } from "../../src/apply/lock.js";
import { BOSUN_NAMESPACE, JOURNAL_FORMAT_ANNOTATION } from "../../src/constants.js";
import { httpStatus } from "../../src/kube/errors.js";
import { eventually, sandboxCluster, sharedSandbox } from "../support/sandbox.js";
import { KubeRest } from "../../src/kube/rest.js";

const CLUSTER = "beta";
const clients = sandboxCluster(CLUSTER);
const { core, coordination } = clients;
const rest = new KubeRest(clients.kc, { cluster: CLUSTER });
const repo = path.resolve(import.meta.dirname, "../..");

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function readLease(): Promise<V1Lease | undefined> {
  try {
    return await coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE });
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}

async function deleteIgnoringAbsent(remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
  }
}

const deleteLease = (): Promise<void> => deleteIgnoringAbsent(() => coordination.deleteNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }));
const deleteJournal = (): Promise<void> => deleteIgnoringAbsent(() => core.deleteNamespacedConfigMap({ name: JOURNAL_NAME, namespace: BOSUN_NAMESPACE }));

/** Writes the lock Lease as a run that died `ageSeconds` ago would have left it. */
async function leaveExpiredLease(holder: string, ageSeconds: number, transitions = 2): Promise<void> {
  await deleteLease();
  const then = new Date(Date.now() - ageSeconds * 1000);
  await coordination.createNamespacedLease({
    namespace: BOSUN_NAMESPACE,
    body: {
      metadata: { name: LOCK_NAME, namespace: BOSUN_NAMESPACE },
      spec: { holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: new V1MicroTime(then.getTime()), renewTime: new V1MicroTime(then.getTime()), leaseTransitions: transitions },
    },
  });
}

/** Replaces the Lease's holder behind the lock's back, as another process taking it would. */
async function steal(thief: string): Promise<void> {
  const lease = await coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE });
  const spec = lease.spec ?? {};
  spec.holderIdentity = thief;
  spec.renewTime = new V1MicroTime(Date.now());
  await coordination.replaceNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE, body: lease });
}

const acquire = (holder: string, leaseSeconds = 30, renewEverySeconds?: number): Promise<ClusterLock> =>
  acquireClusterLock(rest, { cluster: CLUSTER, holder, leaseSeconds, ...(renewEverySeconds === undefined ? {} : { renewEverySeconds }) });

let createdNamespace = false;

beforeAll(async () => {
  try {
    await core.readNamespace({ name: BOSUN_NAMESPACE });
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
    createdNamespace = true;
  }
});

afterAll(async () => {
  await deleteLease();
  await deleteJournal();
  if (createdNamespace) {
    // Leave the cluster as it was found, and wait, so that the next test file never meets a terminating namespace.
    await deleteIgnoringAbsent(() => core.deleteNamespace({ name: BOSUN_NAMESPACE }));
    await eventually("bosun-system gone", async () => {
      try {
        await core.readNamespace({ name: BOSUN_NAMESPACE });
        return undefined;
      } catch (error) {
        return httpStatus(error) === 404 ? true : undefined;
      }
    }, 120_000);
  }
});

describe("the cluster lock", () => {
  const held: ClusterLock[] = [];
  const track = (lock: ClusterLock): ClusterLock => {
    held.push(lock);
    return lock;
  };

  afterAll(async () => {
    await Promise.all(held.splice(0).map((lock) => lock.release().catch(() => undefined)));
  });

  beforeEach(async () => {
    // Locks left by a failed test must not renew into the next one.
    await Promise.all(held.splice(0).map((lock) => lock.release().catch(() => undefined)));
    await deleteLease();
  });

  it("refuses a second apply, naming the holder, since and until when", async () => {
    const first = track(await acquire(holderIdentity("first-run", "ci-7", 4242)));
    const lease = await readLease();
    expect(lease?.spec).toMatchObject({ holderIdentity: "bosun@ci-7/pid 4242/first-run", leaseDurationSeconds: 30, leaseTransitions: 0 });
    // client-node 1.3 hands MicroTime back as the server's string, six fractional digits.
    expect(String(lease?.spec?.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const refusal = await acquire(holderIdentity("second-run")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ClusterLockedError);
    expect(refusal).toMatchObject({ reason: "Locked", retryable: true, holder: "bosun@ci-7/pid 4242/first-run", identity: "beta:Lease.coordination.k8s.io/bosun-system/bosun-lock" });
    expect((refusal as Error).message).toMatch(
      /^cluster beta is locked by bosun@ci-7\/pid 4242\/first-run since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(lease valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\): another apply is running; it expires if that process died$/,
    );
    expect(first.lost.aborted).toBe(false);
  });

  it("can be taken again once released, and release is idempotent", async () => {
    const first = await acquire(holderIdentity(newRunId()));
    await first.release();
    await first.release();
    expect(await readLease()).toBeUndefined();
    const second = track(await acquire(holderIdentity(newRunId())));
    expect((await readLease())?.spec?.holderIdentity).toBe(second.holder);
    await second.release();
    expect(await readLease()).toBeUndefined();
  });

  it("takes over the expired lease of a run that died, counting the transition", async () => {
    await leaveExpiredLease("bosun@gone/pid 1/dead", 600);
    const lock = track(await acquire(holderIdentity(newRunId())));
    expect((await readLease())?.spec).toMatchObject({ holderIdentity: lock.holder, leaseTransitions: 3 });
  });

  it("lets exactly one of several concurrent takers win, across processes", async () => {
    await leaveExpiredLease("bosun@gone/pid 1/dead", 600);
    // Everyone starts at the same instant, the child process included (its start-up takes most of the delay).
    const startAt = Date.now() + 4_000;
    const childHolder = holderIdentity("child-run", "child", 1);
    const script = `
      import { acquireClusterLock } from ${JSON.stringify(path.join(repo, "dist/apply/lock.js"))};
      import { loadKubeConfig } from ${JSON.stringify(path.join(repo, "dist/kube/config.js"))};
      import { KubeRest } from ${JSON.stringify(path.join(repo, "dist/kube/rest.js"))};
      const clients = new KubeRest(loadKubeConfig(${JSON.stringify(sharedSandbox().kubeconfig)}, "beta"), { cluster: "beta" });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ${startAt} - Date.now())));
      try {
        await acquireClusterLock(clients, { cluster: "beta", holder: ${JSON.stringify(childHolder)}, leaseSeconds: 30 });
        console.log(JSON.stringify({ won: true }));
      } catch (error) {
        console.log(JSON.stringify({ won: false, reason: error.reason, holder: error.holder }));
      }
      // Stay alive while the others try: a holder on this machine whose process is gone would be taken
      // over at once (the crashed-holder rule), which is not what this test is about.
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      process.exit(0);
    `;
    const child = execa(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 });
    const holders = ["a", "b", "c"].map((name) => holderIdentity(`in-process-${name}`));
    const inProcess = holders.map(async (holder) => {
      await sleep(Math.max(0, startAt - Date.now()));
      return acquire(holder);
    });
    const results = await Promise.allSettled(inProcess);
    const childResult = JSON.parse((await child).stdout) as { won: boolean; reason?: string; holder?: string };

    for (const result of results) if (result.status === "fulfilled") track(result.value);
    const winners = [...results.flatMap((r, i) => (r.status === "fulfilled" ? [holders[i]] : [])), ...(childResult.won ? [childHolder] : [])];
    expect(winners).toHaveLength(1);
    const winner = winners[0];
    expect((await readLease())?.spec).toMatchObject({ holderIdentity: winner, leaseTransitions: 3 });
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toMatchObject({ reason: "Locked", holder: winner });
    }
    if (!childResult.won) expect(childResult).toEqual({ won: false, reason: "Locked", holder: winner });
  });

  it("stays held past its duration while it is renewed", async () => {
    const lock = track(await acquire(holderIdentity(newRunId()), 2));
    const acquired = (await readLease())?.spec?.renewTime;
    await sleep(5_000);
    await expect(acquire(holderIdentity(newRunId()))).rejects.toMatchObject({ reason: "Locked", holder: lock.holder });
    const renewed = new Date(String((await readLease())?.spec?.renewTime));
    // Renewed (a later renewTime), and still held after more than twice its duration: the refusal above.
    expect(renewed.getTime()).toBeGreaterThan(new Date(String(acquired)).getTime());
    expect(lock.lost.aborted).toBe(false);
  });

  it("signals lost when another holder takes the lease, and then leaves that holder's lease alone", async () => {
    const lock = track(await acquire(holderIdentity(newRunId()), 3));
    await steal("bosun@elsewhere/pid 7/thief");
    await eventually("lock lost", () => Promise.resolve(lock.lost.aborted ? true : undefined), 10_000);
    expect(lock.lost.reason).toBeInstanceOf(LockLostError);
    expect((lock.lost.reason as Error).message).toBe(
      "cluster beta: lost the lock bosun-system/bosun-lock: bosun@elsewhere/pid 7/thief took it over; stopping so that two applies never change the cluster at once",
    );
    await lock.release();
    expect((await readLease())?.spec?.holderIdentity).toBe("bosun@elsewhere/pid 7/thief");
  });

  it("signals lost when the lease is deleted", async () => {
    const lock = track(await acquire(holderIdentity(newRunId()), 3));
    await deleteLease();
    await eventually("lock lost", () => Promise.resolve(lock.lost.aborted ? true : undefined), 10_000);
    expect((lock.lost.reason as Error).message).toContain("someone deleted it");
  });

  it("shows why Lease times must be MicroTime: the API server refuses a plain Date", async () => {
    // The declared type accepts a Date (V1MicroTime adds no members), so only the server catches this.
    const attempt = coordination.createNamespacedLease({
      namespace: BOSUN_NAMESPACE,
      body: { metadata: { name: LOCK_NAME }, spec: { holderIdentity: "x", leaseDurationSeconds: 5, renewTime: new Date() } },
    });
    const status = await attempt.then(
      () => 201,
      (error: unknown) => httpStatus(error),
    );
    expect(status).toBe(400);
  });
});

describe("the apply journal", () => {
  let clock = new Date("2025-06-01T12:00:00.000Z");
  const now = (): Date => clock;
  const tick = (seconds: number): void => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };

  beforeEach(async () => {
    await deleteJournal();
  });

  it("resumes after a crash: a second instance sees what the first finished, and nothing more", async () => {
    const upgrade = "beta/controlPlane.upgrade/1.36.0";
    const addon = "beta/addon.upgrade/echo";
    const crashed = openJournal(rest, CLUSTER, { runId: "run-1", planRevision: "rev-a", now });
    await crashed.record(upgrade, "started", { fingerprint: "fp-upgrade" });
    tick(30);
    await crashed.record(upgrade, "succeeded", { fingerprint: "fp-upgrade", detail: "beta-cp-1 at v1.36.0" });
    tick(1);
    await crashed.record(addon, "started", { fingerprint: "fp-addon" });
    // …the process dies here.

    tick(120);
    const rerun = openJournal(rest, CLUSTER, { runId: "run-2", planRevision: "rev-a", now });
    expect(await rerun.finished(upgrade, "fp-upgrade")).toBe(true);
    expect(await rerun.finished(addon, "fp-addon")).toBe(false);
    expect(await rerun.get(addon)).toEqual({ stepId: addon, state: "started", runId: "run-1", planRevision: "rev-a", fingerprint: "fp-addon", at: "2025-06-01T12:00:31.000Z", attempts: 1 });
    expect(await rerun.record(addon, "started", { fingerprint: "fp-addon" })).toMatchObject({ runId: "run-2", attempts: 2, at: "2025-06-01T12:02:31.000Z" });
    await rerun.record(addon, "succeeded", { fingerprint: "fp-addon" });

    expect((await rerun.entries()).map((e) => [e.stepId, e.state, e.runId])).toEqual([
      [upgrade, "succeeded", "run-1"],
      [addon, "succeeded", "run-2"],
    ]);
    const configMap = await core.readNamespacedConfigMap({ name: JOURNAL_NAME, namespace: BOSUN_NAMESPACE });
    expect(configMap.metadata?.annotations?.[JOURNAL_FORMAT_ANNOTATION]).toBe("1");
    expect(configMap.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("bosun");
    expect(Object.keys(configMap.data ?? {}).sort()).toEqual(["_runs", "beta_2Faddon.upgrade_2Fecho", "beta_2FcontrolPlane.upgrade_2F1.36.0"]);

    // Once the run ends, its steps are history: an identical step later (a drift repair) runs again.
    await rerun.endRun("succeeded");
    expect(await rerun.finished(upgrade, "fp-upgrade")).toBe(false);
    expect((await rerun.runs()).map((r) => [r.runId, r.outcome])).toEqual([
      ["run-1", "failed"],
      ["run-2", "succeeded"],
    ]);
  });

  it("does not take a step whose content changed for finished", async () => {
    const journal = openJournal(rest, CLUSTER, { runId: "run-1", planRevision: "rev-a", now });
    await journal.record("beta/addon.upgrade/echo", "succeeded", { fingerprint: "chart 1.1.0" });
    const later = openJournal(rest, CLUSTER, { runId: "run-2", planRevision: "rev-b", now });
    expect(await later.finished("beta/addon.upgrade/echo", "chart 1.2.0")).toBe(false);
    expect(await later.finished("beta/addon.upgrade/echo", "chart 1.1.0")).toBe(true);
  });

  it("loses no record when two instances write at once", async () => {
    const first = openJournal(rest, CLUSTER, { runId: "run-1", planRevision: null });
    const second = openJournal(rest, CLUSTER, { runId: "run-2", planRevision: null });
    const writes = Array.from({ length: 15 }, (_, i) => [
      first.record(`beta/addon.install/first-${i}`, "succeeded"),
      second.record(`beta/addon.install/second-${i}`, "succeeded"),
    ]).flat();
    await Promise.all(writes);
    const entries = await first.entries();
    expect(entries).toHaveLength(30);
    expect(entries.filter((e) => e.runId === "run-1")).toHaveLength(15);
    expect((await first.runs()).map((r) => r.runId).sort()).toEqual(["run-1", "run-2"]);
  });

  it("stores every kind of step id the planner makes under a valid key, and reads it back", async () => {
    const ids = [
      "prod-eu-1/controlPlane.upgrade/1.35.0",
      "canary-1/addon.upgrade/echo",
      "x/backup.schedule",
      "beta/backup.snapshot/1.35.4",
      "beta/workers.upgrade/1.35.4",
      "beta/topology.scale/3",
      "beta/addon.install/ingress-nginx",
      "beta/addon.apply/monitoring",
      "beta/addon.prune/monitoring",
      "beta/addon.uninstall/old-thing",
    ];
    const journal = openJournal(rest, CLUSTER, { runId: "run-1", planRevision: "rev-a", now });
    for (const id of ids) await journal.record(id, "succeeded", { fingerprint: id });
    const configMap = await core.readNamespacedConfigMap({ name: JOURNAL_NAME, namespace: BOSUN_NAMESPACE });
    expect(Object.keys(configMap.data ?? {}).sort()).toEqual(["_runs", ...ids.map(encodeStepKey)].sort());
    expect((await journal.entries()).map((e) => e.stepId).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await journal.finished(id, id)).toBe(true);
  });

  it("keeps only the last runs", async () => {
    for (let run = 1; run <= 4; run += 1) {
      const journal = openJournal(rest, CLUSTER, { runId: `run-${run}`, planRevision: "rev-a", now, keepRuns: 2 });
      await journal.record(`beta/addon.install/a${run}`, "succeeded");
      await journal.endRun("succeeded");
    }
    const reader = openJournal(rest, CLUSTER, { runId: "reader", planRevision: null });
    expect((await reader.runs()).map((r) => r.runId)).toEqual(["run-3", "run-4"]);
    expect((await reader.entries()).map((e) => e.stepId)).toEqual(["beta/addon.install/a3", "beta/addon.install/a4"]);
  });
});
