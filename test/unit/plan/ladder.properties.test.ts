/**
 * Property tests of the version ladder (issue 4 acceptance): for EVERY (from, to) pair of minors 1.25–1.37,
 * under both skew policies, with drawn patches, HA sizes, interrupted (mixed) control planes and worker and
 * control-plane component skews within policy, walk the states the ladder implies one component move at a
 * time and check that
 * - no intermediate state breaks a skew rule (`checkSkew` is empty everywhere),
 * - no apiserver ever skips a minor, and no component ever goes down,
 * - under `strict` no worker kubelet skips a minor; under `efficient` every worker move before the last
 *   rung was forced (the next control-plane step would have put the workers out of skew),
 * - the final state is exactly the target, every component at the desired version,
 * - a desired version older than any component is refused as a downgrade, and
 * - every intermediate rung targets exactly the patch the drawn {@link PatchPick} chose for its minor (the
 *   release table or the cluster's override, in the plan), and
 * - planLadder is deterministic and never throws.
 *
 * The walk is this file's own reading of the rung contract in `src/plan/ladder.ts` — phase A: control-plane
 * nodes one at a time (static pods of a node in one `kubeadm upgrade`), phase B: control-plane kubelets one
 * at a time, then worker kubelets one at a time — not a reuse of the planner's bookkeeping.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { planLadder, type LadderResult, type PatchPick, type Rung, type SkewPolicy } from "../../../src/plan/ladder.js";
import { checkSkew, kubeletSkewAllowance, kubeletTooOld, type ControlPlaneNodeVersions, type VersionState } from "../../../src/plan/skew.js";
import {
  compareVersions,
  formatVersion,
  kubeVersion,
  minorDistance,
  oldestVersion,
  parseVersion,
  type KubeVersion,
} from "../../../src/plan/versions.js";

const MINORS = Array.from({ length: 13 }, (_, index) => 25 + index); // 1.25 … 1.37
const POLICIES: SkewPolicy[] = ["strict", "efficient"];
const RUNS_PER_PAIR = 30;
let casesRun = 0;

afterAll(() => {
  // The count the closing note reports; printed so a run shows how much was checked.
  console.info(`ladder properties: ${casesRun} generated cases`);
});

function v(text: string): KubeVersion {
  const parsed = parseVersion(text);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.version;
}

function toStrings(state: VersionState, prefix: string): VersionState<string> {
  const text = (version: KubeVersion) => `${prefix}${formatVersion(version)}`;
  return {
    controlPlane: state.controlPlane.map((node) => ({
      apiserver: text(node.apiserver),
      controllerManager: text(node.controllerManager),
      scheduler: text(node.scheduler),
      kubelet: text(node.kubelet),
    })),
    workers: state.workers.map(text),
  };
}

function allComponents(state: VersionState): KubeVersion[] {
  return [...state.controlPlane.flatMap((node) => [node.apiserver, node.controllerManager, node.scheduler, node.kubelet]), ...state.workers];
}

/**
 * A start state within policy whose newest apiserver is `1.<fromMinor>.<patch>`: control-plane nodes
 * optionally one minor behind (an interrupted upgrade), controller-managers and schedulers at or one minor
 * below their apiserver, kubelets anywhere in the kubelet window (not newer than the oldest apiserver, at most
 * 2 or 3 minors behind the newest).
 */
function startState(fromMinor: number): fc.Arbitrary<VersionState> {
  const patch = fc.integer({ min: 0, max: 12 });
  const nodeDraft = fc.record({ lag: fc.integer({ min: 0, max: 1 }), patch, cm: fc.integer({ min: 0, max: 1 }), cmPatch: patch, sched: fc.integer({ min: 0, max: 1 }), schedPatch: patch, kubelet: fc.integer({ min: 0, max: 3 }), kubeletPatch: patch });
  const workerDraft = fc.record({ lag: fc.integer({ min: 0, max: 3 }), patch });
  return fc
    .record({
      nodes: fc.oneof(fc.constant(1), fc.constant(3), fc.constant(5)).chain((count) => fc.array(nodeDraft, { minLength: count, maxLength: count })),
      newestPatch: patch,
      newestAt: fc.nat(),
      workers: fc.array(workerDraft, { minLength: 0, maxLength: 6 }),
    })
    .map(({ nodes, newestPatch, newestAt, workers }) => {
      const newestIndex = newestAt % nodes.length;
      const apiservers = nodes.map((draft, index) =>
        index === newestIndex ? kubeVersion(1, fromMinor, newestPatch) : kubeVersion(1, fromMinor - draft.lag, draft.lag === 0 ? Math.min(draft.patch, newestPatch) : draft.patch),
      );
      const oldestMinor = Math.min(...apiservers.map((apiserver) => apiserver.minor));
      // A kubelet `lag` minors behind the newest apiserver, clamped into the window the policy allows.
      const kubelet = (lag: number, kubeletPatch: number): KubeVersion => {
        let minor = Math.min(fromMinor - lag, oldestMinor);
        if (fromMinor - minor > kubeletSkewAllowance(kubeVersion(1, minor, 0))) minor += 1;
        return kubeVersion(1, minor, kubeletPatch);
      };
      const controlPlane: ControlPlaneNodeVersions[] = nodes.map((draft, index) => {
        const apiserver = apiservers[index] ?? kubeVersion(1, fromMinor, 0);
        const local = (lag: number, localPatch: number) => (lag === 0 ? apiserver : kubeVersion(1, apiserver.minor - 1, localPatch));
        return {
          apiserver,
          controllerManager: local(draft.cm, draft.cmPatch),
          scheduler: local(draft.sched, draft.schedPatch),
          kubelet: kubelet(draft.kubelet, draft.kubeletPatch),
        };
      });
      return { controlPlane, workers: workers.map((draft) => kubelet(draft.lag, draft.patch)) };
    });
}

/** A failure found while walking a ladder; collected rather than thrown so fast-check can shrink on it. */
function walk(start: VersionState, rungs: readonly Rung[], policy: SkewPolicy): string[] {
  const problems: string[] = [];
  let state = start;
  let step = 0;
  const check = (next: VersionState, what: string) => {
    step += 1;
    for (const violation of checkSkew(next)) problems.push(`step ${step} (${what}): ${violation.rule}: ${violation.detail}`);
    const before = allComponents(state);
    allComponents(next).forEach((version, index) => {
      const previous = before[index];
      if (previous !== undefined && compareVersions(version, previous) < 0) problems.push(`step ${step} (${what}): a component went down`);
    });
    next.controlPlane.forEach((node, index) => {
      const previous = state.controlPlane[index];
      if (previous !== undefined && (minorDistance(previous.apiserver, node.apiserver) ?? 99) > 1) {
        problems.push(`step ${step} (${what}): apiserver ${formatVersion(previous.apiserver)} → ${formatVersion(node.apiserver)} skips a minor`);
      }
    });
    state = next;
  };
  const raise = (version: KubeVersion, to: KubeVersion) => (compareVersions(version, to) < 0 ? to : version);

  rungs.forEach((rung, rungIndex) => {
    if (!rung.controlPlane && !rung.workers) problems.push(`rung ${rungIndex + 1} is empty`);
    if (rung.controlPlane) {
      const { from, to } = rung.controlPlane;
      if (compareVersions(from, to) >= 0) problems.push(`rung ${rungIndex + 1}: control plane from ${formatVersion(from)} is not below ${formatVersion(to)}`);
      // Phase A: one node's static pods at a time.
      state.controlPlane.forEach((node, index) => {
        if ([node.apiserver, node.controllerManager, node.scheduler].every((version) => compareVersions(version, to) >= 0)) return;
        const upgraded = { ...node, apiserver: raise(node.apiserver, to), controllerManager: raise(node.controllerManager, to), scheduler: raise(node.scheduler, to) };
        check({ ...state, controlPlane: state.controlPlane.map((other, at) => (at === index ? upgraded : other)) }, `rung ${rungIndex + 1} control-plane node ${index + 1}`);
      });
      // Phase B: one control-plane kubelet at a time.
      state.controlPlane.forEach((node, index) => {
        if (compareVersions(node.kubelet, to) >= 0) return;
        check({ ...state, controlPlane: state.controlPlane.map((other, at) => (at === index ? { ...node, kubelet: to } : other)) }, `rung ${rungIndex + 1} control-plane kubelet ${index + 1}`);
      });
    }
    if (rung.workers) {
      const { from, to } = rung.workers;
      if (compareVersions(from, to) >= 0) problems.push(`rung ${rungIndex + 1}: workers from ${formatVersion(from)} is not below ${formatVersion(to)}`);
      const oldestWorker = oldestVersion(state.workers);
      if (oldestWorker === undefined || compareVersions(oldestWorker, from) !== 0) problems.push(`rung ${rungIndex + 1}: workers from ${formatVersion(from)} is not the oldest worker`);
      if (policy === "efficient" && rungIndex < rungs.length - 1 && oldestWorker !== undefined) {
        const nextControlPlane = rungs.slice(rungIndex + 1).find((later) => later.controlPlane)?.controlPlane;
        if (nextControlPlane === undefined || !kubeletTooOld(oldestWorker, nextControlPlane.to)) {
          problems.push(`rung ${rungIndex + 1}: efficient moved workers from ${formatVersion(oldestWorker)} earlier than needed`);
        }
      }
      state.workers.forEach((kubelet, index) => {
        if (compareVersions(kubelet, to) >= 0) return;
        if (policy === "strict" && (minorDistance(kubelet, to) ?? 99) > 1) problems.push(`rung ${rungIndex + 1}: strict worker ${formatVersion(kubelet)} → ${formatVersion(to)} skips a minor`);
        check({ ...state, workers: state.workers.map((other, at) => (at === index ? to : other)) }, `rung ${rungIndex + 1} worker ${index + 1}`);
      });
    }
  });
  return problems;
}

function finalProblems(end: VersionState, desired: KubeVersion): string[] {
  return allComponents(end).some((version) => compareVersions(version, desired) !== 0) ? [`did not end at ${formatVersion(desired)}`] : [];
}

/** Runs the walk and returns the end state too (re-walking is cheap and keeps `walk` single-purpose). */
function endState(start: VersionState, rungs: readonly Rung[]): VersionState {
  let state = start;
  const raise = (version: KubeVersion, to: KubeVersion) => (compareVersions(version, to) < 0 ? to : version);
  for (const rung of rungs) {
    const cp = rung.controlPlane?.to;
    if (cp) {
      state = { ...state, controlPlane: state.controlPlane.map((node) => ({ apiserver: raise(node.apiserver, cp), controllerManager: raise(node.controllerManager, cp), scheduler: raise(node.scheduler, cp), kubelet: raise(node.kubelet, cp) })) };
    }
    const workers = rung.workers?.to;
    if (workers) state = { ...state, workers: state.workers.map((kubelet) => raise(kubelet, workers)) };
  }
  return state;
}

function assertLadder(start: VersionState, desired: KubeVersion, policy: SkewPolicy, prefix: string, pick: PatchPick): LadderResult {
  const result = planLadder(toStrings(start, prefix), `${prefix}${formatVersion(desired)}`, policy, pick);
  expect(checkSkew(start)).toEqual([]); // the generator only builds supported start states
  const downgrade = allComponents(start).some((version) => compareVersions(version, desired) > 0);
  if (downgrade) {
    expect(result).toMatchObject({ kind: "refused", reason: "downgrade" });
    return result;
  }
  if (result.kind === "in-sync") {
    expect(finalProblems(start, desired)).toEqual([]);
    return result;
  }
  expect(result.kind).toBe("upgrade");
  if (result.kind !== "upgrade") return result;
  expect(result.rungs.length).toBeGreaterThan(0);
  expect(walk(start, result.rungs, policy)).toEqual([]);
  expect(finalProblems(endState(start, result.rungs), desired)).toEqual([]);
  // The apiserver ladder itself: one minor per control-plane rung, ending at the target.
  const cpTargets = result.rungs.flatMap((rung) => (rung.controlPlane ? [rung.controlPlane.to] : []));
  cpTargets.forEach((to, index) => {
    const previous = index === 0 ? oldestVersion(start.controlPlane.map((node) => node.apiserver)) : cpTargets[index - 1];
    if (previous !== undefined) expect(minorDistance(previous, to)).toBeLessThanOrEqual(1);
  });
  // Every version a rung targets is the target, a version some component already holds (the converge
  // rung), or an intermediate minor at exactly the picked patch.
  const held = new Set(allComponents(start).map(formatVersion));
  for (const rung of result.rungs) {
    for (const move of [rung.controlPlane, rung.workers]) {
      if (move === undefined || compareVersions(move.to, desired) === 0 || held.has(formatVersion(move.to))) continue;
      expect(move.to.patch).toBe(pick(move.to.major, move.to.minor));
    }
  }
  return result;
}

/** Any patch choice per minor (a pure function of its arguments, as the release table and overrides are). */
const patchPick: fc.Arbitrary<PatchPick> = fc.func(fc.integer({ min: 0, max: 20 }));

describe("planLadder over every (from, to) pair of minors 1.25–1.37", () => {
  const pairs = MINORS.flatMap((from) => MINORS.map((to) => [from, to] as const));

  it.each(pairs)("1.%i → 1.%i under both policies: skew-safe, no skipped minor, no downgrade, ends at the target", (fromMinor, toMinor) => {
    for (const policy of POLICIES) {
      fc.assert(
        fc.property(startState(fromMinor), fc.integer({ min: 0, max: 12 }), fc.boolean(), patchPick, (start, desiredPatch, vPrefix, pick) => {
          casesRun += 1;
          const desired = kubeVersion(1, toMinor, desiredPatch);
          const prefix = vPrefix ? "v" : "";
          const first = assertLadder(start, desired, policy, prefix, pick);
          // Deterministic: the same input gives a deep-equal (and byte-identical) result.
          const again = planLadder(toStrings(start, prefix), `${prefix}${formatVersion(desired)}`, policy, pick);
          expect(again).toEqual(first);
          expect(JSON.stringify(again)).toBe(JSON.stringify(first));
          if (toMinor < fromMinor) expect(first.kind).toBe("refused");
        }),
        { numRuns: RUNS_PER_PAIR },
      );
    }
  });

  it("efficient never upgrades workers more often than strict", () => {
    const scenario = fc
      .tuple(fc.constantFrom(...MINORS), fc.constantFrom(...MINORS), fc.integer({ min: 0, max: 12 }))
      .chain(([fromMinor, toMinor, desiredPatch]) =>
        startState(fromMinor).map((start) => ({ start, desired: `1.${Math.max(fromMinor, toMinor)}.${desiredPatch}` })),
      );
    fc.assert(
      fc.property(scenario, ({ start, desired }) => {
        casesRun += 1;
        const workerRungs = (policy: SkewPolicy) => {
          const result = planLadder(toStrings(start, ""), desired, policy);
          return result.kind === "upgrade" ? result.rungs.filter((rung) => rung.workers).length : 0;
        };
        expect(workerRungs("efficient")).toBeLessThanOrEqual(workerRungs("strict"));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("planLadder on arbitrary input", () => {
  const versionText = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 20, max: 40 }), fc.integer({ min: 0, max: 5 }), fc.boolean()).map(([major, minor, patch, prefixed]) => `${prefixed ? "v" : ""}${major}.${minor}.${patch}`),
    fc.string({ maxLength: 12 }),
  );
  const node = fc.record({ apiserver: versionText, controllerManager: versionText, scheduler: versionText, kubelet: versionText });
  const observed = fc.record({ controlPlane: fc.array(node, { maxLength: 4 }), workers: fc.array(versionText, { maxLength: 4 }) });

  it("never throws, is deterministic, and every ladder it plans is skew-safe", () => {
    fc.assert(
      fc.property(observed, versionText, fc.constantFrom(...POLICIES), (state, desired, policy) => {
        casesRun += 1;
        const result = planLadder(state, desired, policy);
        expect(planLadder(state, desired, policy)).toEqual(result);
        if (result.kind !== "upgrade") return;
        const start: VersionState = {
          controlPlane: state.controlPlane.map((n) => ({ apiserver: v(n.apiserver), controllerManager: v(n.controllerManager), scheduler: v(n.scheduler), kubelet: v(n.kubelet) })),
          workers: state.workers.map(v),
        };
        expect(walk(start, result.rungs, policy)).toEqual([]);
        expect(finalProblems(endState(start, result.rungs), v(desired))).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses every start state that breaks a skew rule", () => {
    const version = fc.tuple(fc.integer({ min: 22, max: 37 }), fc.integer({ min: 0, max: 3 })).map(([minor, patch]) => kubeVersion(1, minor, patch));
    const cpNode = fc.record({ apiserver: version, controllerManager: version, scheduler: version, kubelet: version });
    const anyState = fc.record({ controlPlane: fc.array(cpNode, { minLength: 1, maxLength: 3 }), workers: fc.array(version, { maxLength: 3 }) });
    fc.assert(
      fc.property(anyState, fc.constantFrom(...POLICIES), (state, policy) => {
        casesRun += 1;
        const desired = kubeVersion(1, 38, 0); // newer than anything drawn: never a downgrade
        const result = planLadder(toStrings(state, ""), formatVersion(desired), policy);
        const violations = checkSkew(state);
        if (violations.length > 0) {
          expect(result).toMatchObject({ kind: "refused", reason: "unsupported-skew-at-start", violations });
        } else {
          expect(result.kind).toBe("upgrade");
          if (result.kind === "upgrade") expect(walk(state, result.rungs, policy)).toEqual([]);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
