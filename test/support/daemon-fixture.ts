/**
 * A `DaemonControl` that describes fleet-example's four clusters (canary-1, staging-eu-1, prod-eu-1,
 * prod-us-1 in the waves canary, staging and production) in several phases, for the HTTP surface's tests.
 * It is the contract's real shape with data in memory: it records what it was asked (approvals, pauses,
 * resumes, triggers) and refuses what the daemon refuses (approving an auto wave, an unknown cluster) with
 * the same `ControlError`s, so the server's mapping is tested end to end over real HTTP.
 */
import { ControlError, type Actor, type ClusterStatus, type DaemonControl, type DaemonStatus } from "../../src/daemon/control.js";
import type { Approval, Pause } from "../../src/daemon/state.js";
import type { ClusterPlan } from "../../src/plan/types.js";

export const TARGET = "3f2a9c1e5b7d4f60a8c2e1b3d5f7a9c0e2b4d6f8";
export const PREVIOUS = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c";
const AT = "2026-11-23T12:00:00.000Z";

function cluster(fields: Partial<ClusterStatus> & Pick<ClusterStatus, "name" | "wave" | "phase">): ClusterStatus {
  return { revision: TARGET, pendingSteps: 0, lastError: null, drift: null, nextWindow: null, lastAppliedAt: AT, plannedAt: AT, owner: "bosun-0", ...fields };
}

/** fleet-example's status: canary in sync, staging drifted, prod-eu-1 awaiting approval, prod-us-1 failed. */
export function fleetExampleStatus(): DaemonStatus {
  return {
    fleet: "acme",
    source: { location: "http://127.0.0.1:9418/fleet.git", ref: "main" },
    ready: true,
    notReadyReason: null,
    targetRevision: TARGET,
    latestRevision: TARGET,
    invalidRevision: null,
    lastFetchAt: AT,
    lastFetchError: null,
    rolloutPaused: false,
    waves: [
      { name: "canary", apply: "auto", clusters: ["canary-1"], paused: null, halted: null, awaitingApproval: false, approvals: [], soakUntil: null },
      { name: "staging", apply: "auto", clusters: ["staging-eu-1"], paused: null, halted: null, awaitingApproval: false, approvals: [], soakUntil: "2026-11-23T12:30:00.000Z" },
      { name: "production", apply: "manual", clusters: ["prod-eu-1", "prod-us-1"], paused: null, halted: null, awaitingApproval: true, approvals: [], soakUntil: null },
    ],
    clusters: [
      cluster({ name: "canary-1", wave: "canary", phase: "in-sync" }),
      cluster({
        name: "staging-eu-1",
        wave: "staging",
        phase: "drifted",
        pendingSteps: 1,
        drift: { revision: TARGET, fingerprint: "f1", detectedAt: "2026-11-23T12:05:00.000Z", steps: 1, diff: "--- live/echo\n+++ desired/echo\n-  replicas: 3\n+  replicas: 1\n" },
      }),
      cluster({ name: "prod-eu-1", wave: "production", phase: "awaiting-approval", revision: PREVIOUS, pendingSteps: 3 }),
      cluster({ name: "prod-us-1", wave: "production", phase: "failed", revision: PREVIOUS, pendingSteps: 2, lastError: "addon.upgrade echo failed (health): deployment echo/echo not ready after 3m" }),
    ],
    replica: { self: "bosun-0", replicas: ["bosun-0"], owned: ["canary-1", "staging-eu-1", "prod-eu-1", "prod-us-1"] },
    queueDepth: 0,
    startedAt: "2026-11-23T11:00:00.000Z",
  };
}

/** The latest plan of prod-us-1: an add-on upgrade with a values diff. */
export function prodUsPlan(): ClusterPlan {
  return {
    name: "prod-us-1",
    wave: "production",
    status: "changes",
    driver: "kubeadm",
    versions: { desired: "1.34.7", controlPlane: { oldest: "1.34.7", newest: "1.34.7" }, workers: { oldest: "1.34.7", newest: "1.34.7" } },
    steps: [
      {
        id: "prod-us-1/addon.upgrade/echo",
        kind: "addon.upgrade",
        state: "pending",
        addon: "echo",
        chart: "addons/charts/echo",
        chartVersion: { from: "0.1.0", to: "0.2.0" },
        valuesDiff: "--- live\n+++ desired\n-message: hello\n+message: hello from the acme fleet\n",
        objects: [],
        diff: "",
        summary: "upgrade echo 0.1.0 → 0.2.0",
      },
    ],
    findings: [],
  };
}

/** One call the fixture received. */
export type ControlCall =
  | { kind: "approve"; wave: string; revision: string; actor: Actor }
  | { kind: "pause"; scope: Pause["scope"]; name: string; actor: Actor; reason: string | undefined }
  | { kind: "resume"; scope: Pause["scope"]; name: string; actor: Actor }
  | { kind: "trigger"; reason: string };

/** The fixture daemon; `status` may be replaced by a test (not ready, an invalid revision …). */
export class FixtureControl implements DaemonControl {
  readonly calls: ControlCall[] = [];
  current: DaemonStatus = fleetExampleStatus();
  plans = new Map<string, ClusterPlan>([["prod-us-1", prodUsPlan()]]);

  status(): DaemonStatus {
    return this.current;
  }

  clusterPlan(name: string): ClusterPlan | undefined {
    return this.plans.get(name);
  }

  approve(wave: string, revision: string, actor: Actor): Promise<Approval> {
    this.calls.push({ kind: "approve", wave, revision, actor });
    const known = this.current.waves.find((w) => w.name === wave);
    if (known === undefined) return Promise.reject(new ControlError(404, `no wave ${wave}`));
    if (known.apply !== "manual") return Promise.reject(new ControlError(409, `wave ${wave} is not manual: nothing to approve`));
    if (!TARGET.startsWith(revision)) return Promise.reject(new ControlError(400, `revision ${revision} is not the target revision`));
    return Promise.resolve({ wave, revision: TARGET, by: `${actor.token}: ${actor.by}`, at: AT });
  }

  pause(scope: Pause["scope"], name: string, actor: Actor, reason?: string): Promise<Pause> {
    this.calls.push({ kind: "pause", scope, name, actor, reason });
    if (!this.exists(scope, name)) return Promise.reject(new ControlError(404, `no ${scope} ${name}`));
    return Promise.resolve({ scope, name, by: `${actor.token}: ${actor.by}`, at: AT, ...(reason === undefined ? {} : { reason }) });
  }

  resume(scope: Pause["scope"], name: string, actor: Actor): Promise<void> {
    this.calls.push({ kind: "resume", scope, name, actor });
    if (!this.exists(scope, name)) return Promise.reject(new ControlError(404, `no ${scope} ${name}`));
    return Promise.resolve();
  }

  trigger(reason: string): void {
    this.calls.push({ kind: "trigger", reason });
  }

  private exists(scope: Pause["scope"], name: string): boolean {
    return scope === "wave" ? this.current.waves.some((w) => w.name === name) : this.current.clusters.some((c) => c.name === name);
  }
}
