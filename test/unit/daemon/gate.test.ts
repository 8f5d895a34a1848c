import { describe, expect, it } from "vitest";
import { waveGates, type GateInput } from "../../../src/daemon/gate.js";
import { emptyClusterState, emptyFleetState, type ClusterState } from "../../../src/daemon/state.js";
import type { DesiredWave } from "../../../src/spec/types.js";

const REV = "a".repeat(40);
const NOW = new Date("2026-12-02T12:00:00Z");

function wave(name: string, clusters: string[], extra: Partial<DesiredWave> = {}): DesiredWave {
  return { name, maxConcurrent: 1, soakSeconds: 0, continueOnSkip: false, apply: "auto", clusters, ...extra };
}

function converged(name: string, at = "2026-12-02T11:00:00Z", steps = 1): ClusterState {
  return { ...emptyClusterState(name), convergedRevision: REV, convergedAt: at, lastAttempt: { revision: REV, at, outcome: "converged", steps } };
}

function input(over: Partial<GateInput> = {}): GateInput {
  return {
    waves: [wave("canary", ["c1"]), wave("prod", ["p1", "p2"])],
    revision: REV,
    fleet: emptyFleetState(),
    clusters: new Map(),
    rolloutPaused: false,
    now: NOW,
    ...over,
  };
}

describe("waveGates", () => {
  it("plans and applies only the first wave until it is done", () => {
    const [canary, prod] = waveGates(input());
    expect(canary).toMatchObject({ plan: true, apply: true, done: false, waiting: null });
    expect(prod).toMatchObject({ plan: false, apply: false, waiting: "earlier-wave" });
  });

  it("opens the next wave once every cluster of the earlier one converged at the revision", () => {
    const [, prod] = waveGates(input({ clusters: new Map([["c1", converged("c1")]]) }));
    expect(prod).toMatchObject({ plan: true, apply: true });
  });

  it("waits for an unreachable cluster of an earlier wave, unless that wave says continueOnSkip", () => {
    const unreachable: ClusterState = { ...emptyClusterState("c1"), lastAttempt: { revision: REV, at: "2026-12-02T11:00:00Z", outcome: "unreachable" } };
    const held = waveGates(input({ clusters: new Map([["c1", unreachable]]) }))[1];
    expect(held).toMatchObject({ plan: false, waiting: "earlier-wave" });
    const lenient = input({ waves: [wave("canary", ["c1"], { continueOnSkip: true }), wave("prod", ["p1", "p2"])], clusters: new Map([["c1", unreachable]]) });
    expect(waveGates(lenient)[1]?.plan).toBe(true);
  });

  it("waits for a failed cluster (halted) and for one converged at another revision", () => {
    const old: ClusterState = { ...converged("c1"), convergedRevision: "b".repeat(40) };
    expect(waveGates(input({ clusters: new Map([["c1", old]]) }))[1]?.waiting).toBe("earlier-wave");
  });

  it("soaks after a wave that changed something, and not after one that was already in sync", () => {
    const waves = [wave("canary", ["c1"], { soakSeconds: 3600 }), wave("prod", ["p1"])];
    const changed = waveGates(input({ waves, clusters: new Map([["c1", converged("c1", "2026-12-02T11:30:00Z", 2)]]) }));
    expect(changed[1]).toMatchObject({ plan: false, waiting: "soaking" });
    expect(changed[1]?.soakUntil?.toISOString()).toBe("2026-12-02T12:30:00.000Z");
    const inSync = waveGates(input({ waves, clusters: new Map([["c1", converged("c1", "2026-12-02T11:30:00Z", 0)]]) }));
    expect(inSync[1]).toMatchObject({ plan: true, apply: true });
    const over = waveGates(input({ waves, now: new Date("2026-12-02T12:31:00Z"), clusters: new Map([["c1", converged("c1", "2026-12-02T11:30:00Z", 2)]]) }));
    expect(over[1]?.plan).toBe(true);
  });

  it("plans a manual wave but applies it only with an approval of this revision", () => {
    const waves = [wave("prod", ["p1"], { apply: "manual" })];
    expect(waveGates(input({ waves }))[0]).toMatchObject({ plan: true, apply: false, waiting: "awaiting-approval" });
    const other = { ...emptyFleetState(), approvals: [{ wave: "prod", revision: "b".repeat(40), by: "ops", at: "x" }] };
    expect(waveGates(input({ waves, fleet: other }))[0]?.apply).toBe(false);
    const approved = { ...emptyFleetState(), approvals: [{ wave: "prod", revision: REV, by: "ops", at: "x" }] };
    expect(waveGates(input({ waves, fleet: approved }))[0]?.apply).toBe(true);
  });

  it("applies nothing in a halted or paused wave, or while rollout.paused", () => {
    const halted = { ...emptyFleetState(), halts: [{ wave: "canary", revision: REV, cause: "c1 failed", at: "x" }] };
    expect(waveGates(input({ fleet: halted }))[0]).toMatchObject({ plan: true, apply: false, waiting: "halted" });
    // A halt of an older revision does not hold a new one.
    const oldHalt = { ...emptyFleetState(), halts: [{ wave: "canary", revision: "b".repeat(40), cause: "c1 failed", at: "x" }] };
    expect(waveGates(input({ fleet: oldHalt }))[0]?.apply).toBe(true);
    const paused = { ...emptyFleetState(), pauses: [{ scope: "wave" as const, name: "canary", by: "ops", at: "x" }] };
    expect(waveGates(input({ fleet: paused }))[0]).toMatchObject({ apply: false, waiting: "paused" });
    expect(waveGates(input({ rolloutPaused: true }))[0]).toMatchObject({ apply: false, waiting: "paused" });
  });
});
