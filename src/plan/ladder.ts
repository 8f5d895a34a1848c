/**
 * The version ladder: the rungs that take one cluster from its observed versions to its desired version
 * without ever leaving the Kubernetes version-skew policy (DESIGN section 4, rules in `skew.ts`).
 *
 * Pure and deterministic (ARCHITECTURE invariant 1): no I/O, no clock, no randomness; the same inputs give
 * a deep-equal result, and no input makes it throw — bad input is a `refused` result.
 *
 * ## State model
 * A cluster's versions are a {@link VersionState}: per control-plane node its kube-apiserver,
 * kube-controller-manager, kube-scheduler and kubelet; per worker node its kubelet.
 *
 * ## What a rung means (the contract with the drivers)
 * A rung is executed in this order, and every state in between is skew-safe (the property tests walk them):
 * 1. `controlPlane: {from, to}` — phase A: one control-plane node at a time, in observed order, its static
 *    control-plane pods (apiserver, controller-manager, scheduler; one `kubeadm upgrade apply|node` run) go
 *    to `to` together — the seconds inside one such run are not planned states. Phase B: only when every
 *    apiserver is at `to`, one node at a time, the control-plane kubelets go to `to`. The kubelet waits for phase B because it reaches the apiservers through the
 *    control-plane endpoint and must never be newer than the OLDEST apiserver; upgrading it together with
 *    its own node's static pods would break that rule in an HA cluster until the last node is done.
 * 2. `workers: {from, to}` — then every worker kubelet below `to` goes to `to`, one node (or one batch of
 *    `maxUnavailable`) at a time; workers never constrain each other, so any batching is as safe.
 * A move only ever RAISES a component: one already at or above `to` (a newer patch of the same minor) is
 * left alone. `from` is the oldest version among the components the move raises.
 *
 * ## Decisions
 * - The apiserver moves exactly one minor per rung; the last rung goes to the desired version, and each
 *   intermediate minor to the patch the caller's {@link PatchPick} chooses (the plan passes the latest
 *   patch from the bundled release table or the cluster's `upgrade.intermediateVersions`, see
 *   `intermediate-versions.ts`; {@link MINOR_ZERO} when nothing is known). A patch-only upgrade is one rung.
 * - The first rung converges the control plane to its highest observed apiserver version when apiservers
 *   are at different minors (an interrupted upgrade) or when a control-plane kubelet would otherwise fall
 *   out of skew at the next minor. Apiservers that differ only in patch need no extra rung: the next minor
 *   rung raises them all.
 * - `strict`: worker kubelets never skip a minor. Workers behind the control plane's minor first catch up
 *   one minor per worker-only rung; then every rung moves them to the rung's version, after its control
 *   plane.
 * - `efficient` (Cluster API's chained upgrade): workers stay where they are while kubelet skew holds, and
 *   move — as far as they can, to the control plane's current version — on the last rung before the next
 *   control-plane step would put them out of skew; on the last rung they go to the target. When even the
 *   first control-plane step needs them moved, a worker-only rung comes first.
 * - The skew policies govern WORKER kubelets only; control-plane kubelets, controller-managers and
 *   schedulers always go to the version of every control-plane rung, like the apiservers.
 * - Refused, never planned: unparseable versions, a cluster without control-plane nodes, any component
 *   newer than the desired version (a downgrade, including workers newer than the target), a change of
 *   major version, and a starting state that already breaks a skew rule (no safe first step is defined).
 */
import { checkSkew, kubeletTooOld, type SkewViolation, type VersionState } from "./skew.js";
import {
  compareMinors,
  compareVersions,
  formatVersion,
  kubeVersion,
  newestVersion,
  oldestVersion,
  parseVersion,
  type KubeVersion,
} from "./versions.js";

/** How workers follow the control plane (`upgrade.skewPolicy` of the spec). */
export type SkewPolicy = "strict" | "efficient";

/**
 * Chooses the patch of `major.minor` an intermediate rung targets. Returning a patch, not a version, keeps
 * every pick inside its minor, so no choice can break the one-minor-per-rung rule.
 */
export type PatchPick = (major: number, minor: number) => number;

/** The pick that knows no releases: `MINOR.0`, the one patch every minor is sure to have. */
export const MINOR_ZERO: PatchPick = () => 0;

/** One group of components moving from the oldest version it holds to `to`. */
export interface VersionMove {
  readonly from: KubeVersion;
  readonly to: KubeVersion;
}

/** One step of the ladder: control plane first (if any), then workers (if any). At least one is set. */
export interface Rung {
  readonly controlPlane?: VersionMove;
  readonly workers?: VersionMove;
}

/** Closed vocabulary of why a ladder is refused. */
export type RefusalReason =
  | "unparseable"
  | "no-control-plane"
  | "downgrade"
  | "major-version-change"
  | "unsupported-skew-at-start";

/** What {@link planLadder} decided. */
export type LadderResult =
  | { readonly kind: "in-sync" }
  | {
      readonly kind: "refused";
      readonly reason: RefusalReason;
      readonly detail: string;
      /** The broken rules, for `unsupported-skew-at-start`; empty otherwise. */
      readonly violations: readonly SkewViolation[];
    }
  | { readonly kind: "upgrade"; readonly rungs: readonly Rung[] };

type Refusal = Extract<LadderResult, { kind: "refused" }>;

function refuse(reason: RefusalReason, detail: string, violations: readonly SkewViolation[] = []): Refusal {
  return { kind: "refused", reason, detail, violations };
}

/** One observed version with where it came from, for messages. */
interface Located {
  readonly where: string;
  readonly version: KubeVersion;
}

/** Parses every observed version, or names the first one that is not a version. */
function parseObserved(observed: VersionState<string>): VersionState | Refusal {
  const problems: string[] = [];
  const parse = (text: string, where: string): KubeVersion => {
    const result = parseVersion(text);
    if (result.ok) return result.version;
    problems.push(`${where}: ${result.detail}`);
    return kubeVersion(0, 0, 0);
  };
  const state: VersionState = {
    controlPlane: observed.controlPlane.map((node, index) => {
      const where = `control-plane node ${index + 1}`;
      return {
        apiserver: parse(node.apiserver, `${where} kube-apiserver`),
        controllerManager: parse(node.controllerManager, `${where} kube-controller-manager`),
        scheduler: parse(node.scheduler, `${where} kube-scheduler`),
        kubelet: parse(node.kubelet, `${where} kubelet`),
      };
    }),
    workers: observed.workers.map((kubelet, index) => parse(kubelet, `worker node ${index + 1} kubelet`)),
  };
  return problems.length === 0 ? state : refuse("unparseable", problems.join("; "));
}

/** Every component version of the state, labelled, in a fixed order. */
function everyComponent(state: VersionState): Located[] {
  const all: Located[] = [];
  state.controlPlane.forEach((node, index) => {
    const where = `control-plane node ${index + 1}`;
    all.push(
      { where: `${where} kube-apiserver`, version: node.apiserver },
      { where: `${where} kube-controller-manager`, version: node.controllerManager },
      { where: `${where} kube-scheduler`, version: node.scheduler },
      { where: `${where} kubelet`, version: node.kubelet },
    );
  });
  state.workers.forEach((version, index) => all.push({ where: `worker node ${index + 1} kubelet`, version }));
  return all;
}

function controlPlaneComponents(state: VersionState): KubeVersion[] {
  return state.controlPlane.flatMap((node) => [node.apiserver, node.controllerManager, node.scheduler, node.kubelet]);
}

/** `version` raised to `to`; a version at or above `to` is kept (moves never lower anything). */
function raise(version: KubeVersion, to: KubeVersion): KubeVersion {
  return compareVersions(version, to) < 0 ? to : version;
}

/** The move raising every version below `to`, or nothing when none is below. */
function moveFor(versions: readonly KubeVersion[], to: KubeVersion): VersionMove | undefined {
  const from = oldestVersion(versions.filter((version) => compareVersions(version, to) < 0));
  return from === undefined ? undefined : { from, to };
}

/** Mutable accumulator for the rungs and the state they leave the cluster in. */
class LadderBuilder {
  readonly rungs: Rung[] = [];
  private state: VersionState;

  constructor(start: VersionState) {
    this.state = start;
  }

  get workers(): readonly KubeVersion[] {
    return this.state.workers;
  }

  /** Appends a rung moving the control plane to `to`. */
  controlPlane(to: KubeVersion): void {
    const move = moveFor(controlPlaneComponents(this.state), to);
    if (move === undefined) return;
    this.state = {
      controlPlane: this.state.controlPlane.map((node) => ({
        apiserver: raise(node.apiserver, to),
        controllerManager: raise(node.controllerManager, to),
        scheduler: raise(node.scheduler, to),
        kubelet: raise(node.kubelet, to),
      })),
      workers: this.state.workers,
    };
    this.rungs.push({ controlPlane: move });
  }

  /** Moves the workers to `to`: on the last rung when `attach` and it has no workers yet, else a new rung. */
  workersTo(to: KubeVersion, attach: boolean): void {
    const move = moveFor(this.state.workers, to);
    if (move === undefined) return;
    this.state = { controlPlane: this.state.controlPlane, workers: this.state.workers.map((version) => raise(version, to)) };
    const last = this.rungs.at(-1);
    if (attach && last !== undefined && last.workers === undefined) {
      this.rungs[this.rungs.length - 1] = { ...last, workers: move };
    } else {
      this.rungs.push({ workers: move });
    }
  }
}

/**
 * The versions the apiservers step through, one minor per entry, ending at `desired`; empty when the
 * control plane is already entirely at `desired`. `newest`/`oldest` are the observed apiserver extremes
 * (within one minor of each other, and `desired` is not older than any component: both checked before).
 */
function controlPlaneTargets(
  state: VersionState,
  oldest: KubeVersion,
  newest: KubeVersion,
  desired: KubeVersion,
  pick: PatchPick,
): KubeVersion[] {
  if (controlPlaneComponents(state).every((version) => compareVersions(version, desired) === 0)) return [];
  if (compareMinors(newest, desired) === 0) return [desired];
  const next = kubeVersion(newest.major, newest.minor + 1, 0);
  const converge =
    compareMinors(oldest, newest) < 0 || state.controlPlane.some((node) => kubeletTooOld(node.kubelet, next));
  const targets: KubeVersion[] = converge ? [newest] : [];
  for (let minor = newest.minor + 1; minor < desired.minor; minor += 1) targets.push(intermediate(desired.major, minor, pick));
  targets.push(desired);
  return targets;
}

/** The version an intermediate rung of `major.minor` targets; a pick that is not a whole patch number counts as 0. */
function intermediate(major: number, minor: number, pick: PatchPick): KubeVersion {
  const patch = pick(major, minor);
  return kubeVersion(major, minor, Number.isSafeInteger(patch) && patch >= 0 ? patch : 0);
}

/** Workers behind the control plane's minor climb one minor per worker-only rung (strict policy). */
function strictCatchUp(ladder: LadderBuilder, oldestApiserver: KubeVersion, pick: PatchPick): void {
  const slowest = oldestVersion(ladder.workers);
  if (slowest === undefined) return;
  for (let minor = slowest.minor + 1; minor <= oldestApiserver.minor; minor += 1) {
    const to = minor === oldestApiserver.minor ? oldestApiserver : intermediate(oldestApiserver.major, minor, pick);
    ladder.workersTo(to, false);
  }
}

/**
 * Plans the ladder from `observed` (versions as the observers report them, `v` prefix allowed) to
 * `desired` under `policy`, intermediate minors at the patch `pick` chooses. See the module comment for
 * the state model, the meaning of a rung and every decision. Never throws.
 */
export function planLadder(
  observed: VersionState<string>,
  desired: string,
  policy: SkewPolicy,
  pick: PatchPick = MINOR_ZERO,
): LadderResult {
  const parsedDesired = parseVersion(desired);
  if (!parsedDesired.ok) return refuse("unparseable", `desired version: ${parsedDesired.detail}`);
  const target = parsedDesired.version;
  const state = parseObserved(observed);
  if ("kind" in state) return state;

  const apiservers = state.controlPlane.map((node) => node.apiserver);
  const oldest = oldestVersion(apiservers);
  const newest = newestVersion(apiservers);
  if (oldest === undefined || newest === undefined) {
    return refuse("no-control-plane", "no control-plane node was observed, so there is no kube-apiserver version to start from");
  }
  const components = everyComponent(state);
  const ahead = components.find((component) => compareVersions(component.version, target) > 0);
  if (ahead !== undefined) {
    return refuse(
      "downgrade",
      `${ahead.where} is at ${formatVersion(ahead.version)}, newer than the desired ${formatVersion(target)}: downgrades are never planned`,
    );
  }
  const otherMajor = components.find((component) => component.version.major !== target.major);
  if (otherMajor !== undefined) {
    return refuse(
      "major-version-change",
      `${otherMajor.where} is at ${formatVersion(otherMajor.version)} and the desired version ${formatVersion(target)} is another major version: no skew policy covers that`,
    );
  }
  const violations = checkSkew(state);
  if (violations.length > 0) {
    return refuse(
      "unsupported-skew-at-start",
      `the cluster already breaks the version-skew policy: ${violations.map((violation) => violation.detail).join("; ")}`,
      violations,
    );
  }
  if (components.every((component) => compareVersions(component.version, target) === 0)) return { kind: "in-sync" };

  const ladder = new LadderBuilder(state);
  const targets = controlPlaneTargets(state, oldest, newest, target, pick);
  if (policy === "strict") {
    strictCatchUp(ladder, oldest, pick);
    for (const to of targets) {
      ladder.controlPlane(to);
      ladder.workersTo(to, true);
    }
  } else {
    let current = oldest;
    for (const to of targets) {
      // Before the apiservers reach `to`'s minor, every worker must be within kubelet skew of it; if one
      // would not be, the workers move now — after the previous rung's control plane, as late as possible.
      if (ladder.workers.some((kubelet) => kubeletTooOld(kubelet, to))) ladder.workersTo(current, true);
      ladder.controlPlane(to);
      current = to;
    }
  }
  ladder.workersTo(target, true);
  return { kind: "upgrade", rungs: ladder.rungs };
}
