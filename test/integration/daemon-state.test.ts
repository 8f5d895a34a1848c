/**
 * The daemon's shared state and its sharding against a real API server (cluster `beta` of the shared
 * sandbox, in a namespace of this test's own): the ConfigMap state store's compare-and-swap between two
 * writers, its limits and refusals; and three replicas sharing a fleet through their Leases — every cluster
 * owned by exactly one, a clean leave, a crash (a replica that stops renewing without deleting its Lease),
 * a replica that cannot renew, and a restart under the same id. Takeover times are measured and printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { LeaseMembership, REPLICA_LABEL, replicaLeaseName, type StoredLease } from "../../src/daemon/shards.js";
import { ConfigMapStateStore, MAX_STATE_DOCUMENT_BYTES, STATE_LABEL } from "../../src/daemon/store-kube.js";
import { FLEET_KEY, StateConflictError, clusterKey, emptyFleetState, readState, updateState, type FleetState } from "../../src/daemon/state.js";
import { BosunError } from "../../src/errors.js";
import type { KubeRest } from "../../src/kube/rest.js";
import { deleteNamespaces, sandboxCluster, sandboxRest } from "../support/sandbox.js";

const CLUSTER = "beta";
const NAMESPACE = "bosun-daemon-state-it";
const { core } = sandboxCluster(CLUSTER);
const rests: KubeRest[] = [];
const memberships: LeaseMembership[] = [];

/** A client of its own, as a separate replica would have. */
function rest(): KubeRest {
  const client = sandboxRest(CLUSTER);
  rests.push(client);
  return client;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms (fine enough to measure a takeover) until true; returns the elapsed ms. */
async function within(what: string, timeoutMs: number, check: () => boolean): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

function reasons(results: PromiseSettledResult<unknown>[]): unknown[] {
  return results.flatMap((r): unknown[] => (r.status === "rejected" ? [r.reason as unknown] : []));
}

beforeAll(async () => {
  await deleteNamespaces(core, [NAMESPACE]);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
});

afterAll(async () => {
  for (const membership of memberships) await membership.stop().catch(() => undefined);
  for (const client of rests) client.close();
  await deleteNamespaces(core, [NAMESPACE]);
});

describe("ConfigMapStateStore", () => {
  it("stores a document in its own labelled ConfigMap, versioned by resourceVersion", async () => {
    const client = rest();
    const store = new ConfigMapStateStore(client, NAMESPACE);
    await store.check();
    expect(store.description).toBe(`ConfigMaps in ${NAMESPACE} of context ${CLUSTER}`);
    const key = clusterKey("alpha");
    expect(await store.read(key)).toBeNull();
    const version = await store.write(key, { format: 1, name: "alpha" }, null);
    const stored = await client.get<{ metadata: { labels: Record<string, string>; resourceVersion: string }; data: Record<string, string> }>(
      `/api/v1/namespaces/${NAMESPACE}/configmaps/bosun-state-${key}`,
    );
    expect(stored?.metadata.resourceVersion).toBe(version);
    expect(stored?.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "bosun", [STATE_LABEL]: key });
    expect(JSON.parse(stored?.data["state.json"] ?? "")).toEqual({ format: 1, name: "alpha" });
    expect(await store.read(key)).toEqual({ value: { format: 1, name: "alpha" }, version });
    const next = await store.write(key, { format: 1, name: "alpha", more: true }, version);
    expect(next).not.toBe(version);
    expect(await store.read(key)).toEqual({ value: { format: 1, name: "alpha", more: true }, version: next });
  });

  it("lets one of two racing writers win and refuses the other with StateConflictError", async () => {
    const first = new ConfigMapStateStore(rest(), NAMESPACE);
    const second = new ConfigMapStateStore(rest(), NAMESPACE);
    // Two creators of the same key.
    const created = await Promise.allSettled([first.write("race", { by: "first" }, null), second.write("race", { by: "second" }, null)]);
    expect(created.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(reasons(created)).toEqual([expect.any(StateConflictError)]);
    // Two updaters of the same version.
    const read = await first.read("race");
    const version = read?.version ?? null;
    const updated = await Promise.allSettled([first.write("race", { by: "first again" }, version), second.write("race", { by: "second again" }, version)]);
    expect(updated.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(reasons(updated)).toEqual([expect.any(StateConflictError)]);
    // A stale version stays refused after the race.
    expect(await rejection(first.write("race", { by: "late" }, version))).toBeInstanceOf(StateConflictError);
  });

  it("converges concurrent updateState calls of two replicas: no change is lost", async () => {
    const stores = [new ConfigMapStateStore(rest(), NAMESPACE), new ConfigMapStateStore(rest(), NAMESPACE)];
    const approve = (store: ConfigMapStateStore, wave: string): Promise<FleetState> =>
      updateState(store, FLEET_KEY, emptyFleetState, (fleet) => ({ ...fleet, approvals: [...fleet.approvals, { wave, revision: "r1", by: store === stores[0] ? "one" : "two", at: "2026-01-01T00:00:00Z" }] }), 20);
    const waves = ["w1", "w2", "w3", "w4", "w5", "w6"];
    await Promise.all(waves.map((wave, i) => approve(stores[i % 2] as ConfigMapStateStore, wave)));
    const fleet = await readState<FleetState>(stores[1] as ConfigMapStateStore, FLEET_KEY, emptyFleetState);
    expect(fleet.approvals.map((a) => a.wave).sort()).toEqual(waves);
  });

  it("refuses a document larger than a ConfigMap holds before sending it", async () => {
    const client = rest();
    const store = new ConfigMapStateStore(client, NAMESPACE);
    const before = client.requests;
    const error = await rejection(store.write("big", { format: 1, diff: "x".repeat(MAX_STATE_DOCUMENT_BYTES) }, null));
    expect(error).toBeInstanceOf(BosunError);
    expect((error as BosunError).reason).toBe("InvalidState");
    expect((error as BosunError).message).toMatch(/state big: the document is \d+ bytes as JSON, more than the 1048576 bytes a ConfigMap holds/);
    expect(client.requests).toBe(before);
    expect(await store.read("big")).toBeNull();
  });

  it("says the namespace is missing instead of creating it", async () => {
    const store = new ConfigMapStateStore(rest(), "bosun-no-such-namespace");
    for (const attempt of [() => store.check(), () => store.write(FLEET_KEY, emptyFleetState(), null)]) {
      const error = await rejection(attempt());
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toBe(`state cluster ${CLUSTER}, namespace bosun-no-such-namespace: the namespace does not exist; create it (and the daemon's RBAC in it) before starting bosun with this state store`);
    }
    expect(await core.readNamespace({ name: "bosun-no-such-namespace" }).then(() => "exists", () => "absent")).toBe("absent");
  });

  it("refuses a ConfigMap that does not hold a JSON document, naming it", async () => {
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: "bosun-state-broken" }, data: { "state.json": "{ half a docu" } } });
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: "bosun-state-empty" }, data: {} } });
    const store = new ConfigMapStateStore(rest(), NAMESPACE);
    const broken = await rejection(store.read("broken"));
    expect((broken as BosunError).reason).toBe("InvalidState");
    expect((broken as Error).message).toBe(`state ConfigMap ${NAMESPACE}/bosun-state-broken in cluster ${CLUSTER} state.json is not JSON (13 characters)`);
    const empty = await rejection(store.read("empty"));
    expect((empty as Error).message).toBe(`state ConfigMap ${NAMESPACE}/bosun-state-empty in cluster ${CLUSTER} has no state.json`);
  });

  it("refuses keys that are no DNS-1123 name", async () => {
    const store = new ConfigMapStateStore(rest(), NAMESPACE);
    for (const key of ["Fleet", "../x", "a".repeat(242)]) {
      expect((await rejection(store.read(key)) as BosunError).message).toContain("is not a DNS-1123 name");
    }
  });
});

describe("LeaseMembership", () => {
  const LEASE = 3;
  const RENEW = 1;
  const clusters = Array.from({ length: 20 }, (_, i) => `cluster-${i}`);
  const logs: string[] = [];

  function replica(self: string, extra: { signal?: AbortSignal; rest?: KubeRest } = {}): LeaseMembership {
    const membership = new LeaseMembership({
      rest: extra.rest ?? rest(),
      namespace: NAMESPACE,
      self,
      leaseSeconds: LEASE,
      renewEverySeconds: RENEW,
      log: (line) => logs.push(line),
      ...(extra.signal ? { signal: extra.signal } : {}),
    });
    memberships.push(membership);
    return membership;
  }

  /** Owners of each cluster among `members` (each list should have exactly one entry). */
  const owners = (members: readonly LeaseMembership[]): string[][] => clusters.map((c) => members.filter((m) => m.owns(c)).map((m) => m.self));
  const exactlyOne = (members: readonly LeaseMembership[]): boolean => owners(members).every((o) => o.length === 1);
  const seeAll = (members: readonly LeaseMembership[], expected: string[]): boolean => members.every((m) => m.replicas().join() === expected.join());

  async function listLeases(): Promise<StoredLease[]> {
    return sandboxRest(CLUSTER).list<StoredLease>(`/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`, { labelSelector: `${REPLICA_LABEL}=true` });
  }

  it("shares 20 clusters among three replicas, hands a leaving replica's clusters over at once, and a crashed one's after its lease", async () => {
    const crash = new AbortController();
    const a = replica("replica-a");
    const b = replica("replica-b", { signal: crash.signal });
    const c = replica("replica-c");
    let changes = 0;
    a.onChange(() => (changes += 1));
    await Promise.all([a.start(), b.start(), c.start()]);
    const all = [a, b, c];
    await within("all three replicas to see each other", 10_000, () => seeAll(all, ["replica-a", "replica-b", "replica-c"]));

    // Every cluster has exactly one owner, and each replica has a share.
    expect(owners(all).map((o) => o.length)).toEqual(clusters.map(() => 1));
    for (const m of all) expect(clusters.filter((cl) => m.owns(cl)).length).toBeGreaterThan(0);
    const leases = await listLeases();
    expect(leases.map((l) => [l.metadata?.name, l.spec?.holderIdentity, l.spec?.leaseDurationSeconds]).sort()).toEqual(
      ["replica-a", "replica-b", "replica-c"].map((self) => [replicaLeaseName(self), self, LEASE]),
    );
    // MicroTime as the API server writes it: six fractional digits.
    expect(leases[0]?.spec?.renewTime).toMatch(/\.\d{6}Z$/);

    const ownerBefore = new Map(clusters.map((cl) => [cl, all.find((m) => m.owns(cl))?.self]));
    // A clean leave: c deletes its Lease; a and b take its clusters at their next heartbeat.
    const cOwned = clusters.filter((cl) => c.owns(cl));
    const stoppedAt = Date.now();
    await c.stop();
    expect(c.owns(cOwned[0] as string)).toBe(false);
    const leaveMs = await within("a and b to take c's clusters", 10_000, () => seeAll([a, b], ["replica-a", "replica-b"]) && exactlyOne([a, b]));
    console.log(`takeover after a clean leave: ${leaveMs} ms (stop() took ${Date.now() - stoppedAt - leaveMs} ms; heartbeat ${RENEW} s)`);
    expect(leaveMs).toBeLessThan(RENEW * 1000 + 1500);
    expect((await listLeases()).map((l) => l.spec?.holderIdentity).sort()).toEqual(["replica-a", "replica-b"]);
    expect(changes).toBeGreaterThan(0);
    // Only c's clusters moved.
    for (const cluster of clusters.filter((cl) => !cOwned.includes(cl))) expect([a, b].find((m) => m.owns(cluster))?.self).toBe(ownerBefore.get(cluster));

    // A crash: b stops renewing without deleting its Lease. a takes its clusters once the lease expired.
    const bLastRenewal = (b.expiresAt as Date).getTime() - LEASE * 1000;
    crash.abort();
    const crashedAt = Date.now();
    expect((await listLeases()).map((l) => l.spec?.holderIdentity).sort()).toEqual(["replica-a", "replica-b"]);
    const crashMs = await within("a to take every cluster", 15_000, () => a.replicas().join() === "replica-a" && clusters.every((cl) => a.owns(cl)));
    const sinceRenewal = crashedAt + crashMs - bLastRenewal;
    console.log(`takeover after a crash: ${crashMs} ms after the crash, ${sinceRenewal} ms after its last renewal (lease ${LEASE} s, heartbeat ${RENEW} s: bound ${(LEASE + RENEW) * 1000} ms)`);
    // Never before the crashed replica's lease ran out, and within a lease and a heartbeat (plus slack for a loaded machine).
    expect(sinceRenewal).toBeGreaterThanOrEqual(LEASE * 1000 - 50);
    expect(sinceRenewal).toBeLessThan((LEASE + RENEW) * 1000 + 1500);
    expect(clusters.some((cl) => b.owns(cl))).toBe(false);

    // b restarts under the same id: it takes its Lease back and gets its share again.
    const b2 = replica("replica-b");
    await b2.start();
    const rejoinMs = await within("a and b to share again", 10_000, () => seeAll([a, b2], ["replica-a", "replica-b"]) && exactlyOne([a, b2]));
    console.log(`rejoin under the same id: ${rejoinMs} ms`);
    const lease = (await listLeases()).find((l) => l.spec?.holderIdentity === "replica-b");
    expect(lease?.spec?.leaseTransitions).toBe(1);
    expect(logs.some((line) => line.startsWith("replica replica-b: took back its Lease"))).toBe(false); // b's lease had expired

    await Promise.all([a.stop(), b2.stop()]);
    expect(await listLeases()).toEqual([]);
  });

  it("owns nothing once it could not renew for most of its lease, and its share again after it renews", async () => {
    let refuse = false;
    const gated = rest().derive({
      beforeWrite: () => (refuse ? Promise.reject(new BosunError("writes refused by the test", { reason: "Unreachable" })) : Promise.resolve()),
    });
    const steady = replica("replica-steady");
    const flaky = replica("replica-flaky", { rest: gated });
    await Promise.all([steady.start(), flaky.start()]);
    await within("both replicas to see each other", 10_000, () => seeAll([steady, flaky], ["replica-flaky", "replica-steady"]));
    expect(exactlyOne([steady, flaky])).toBe(true);
    let flakyChanges = 0;
    flaky.onChange(() => (flakyChanges += 1));

    refuse = true;
    const refusedAt = Date.now();
    const lastRenewal = (flaky.expiresAt as Date).getTime() - LEASE * 1000;
    // One poll loop watching both, so the order of the two moments and any overlap are seen.
    let failSafeAt: number | undefined;
    let takeoverAt: number | undefined;
    let overlaps = 0;
    await within("the steady replica to own everything", 10_000, () => {
      const now = Date.now();
      if (failSafeAt === undefined && clusters.every((cl) => !flaky.owns(cl))) failSafeAt = now;
      if (takeoverAt === undefined && clusters.every((cl) => steady.owns(cl))) takeoverAt = now;
      if (clusters.some((cl) => steady.owns(cl) && flaky.owns(cl))) overlaps += 1;
      return failSafeAt !== undefined && takeoverAt !== undefined;
    });
    const gaveUp = (failSafeAt as number) - lastRenewal;
    const taken = (takeoverAt as number) - lastRenewal;
    console.log(`renewals refused (from ${refusedAt - lastRenewal} ms after its last renewal): the replica gave up its clusters ${gaveUp} ms after its last renewal; the other took them ${taken} ms after it`);
    // The failing replica lets go before its lease runs out, and before the other takes over.
    expect(gaveUp).toBeLessThanOrEqual(LEASE * 1000);
    expect(taken).toBeGreaterThanOrEqual(LEASE * 1000 - 50);
    expect(taken).toBeGreaterThanOrEqual(gaveUp);
    expect(overlaps).toBe(0);
    expect(flakyChanges).toBeGreaterThan(0);
    expect(logs.some((line) => line.startsWith("replica replica-flaky: could not renew its Lease: writes refused by the test"))).toBe(true);

    refuse = false;
    await within("the replicas to share again", 10_000, () => seeAll([steady, flaky], ["replica-flaky", "replica-steady"]) && exactlyOne([steady, flaky]));
    expect(clusters.some((cl) => flaky.owns(cl))).toBe(true);
  });

  it("refuses to start without the namespace", async () => {
    const membership = new LeaseMembership({ rest: rest(), namespace: "bosun-no-such-namespace", self: "replica-x" });
    const error = await rejection(membership.start());
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain("namespace bosun-no-such-namespace does not exist");
    expect(membership.owns("cluster-0")).toBe(false);
  });
});
