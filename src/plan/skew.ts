/**
 * The Kubernetes version-skew policy as pure predicates over one cluster's versions (DESIGN section 4).
 *
 * Source: https://kubernetes.io/releases/version-skew-policy/ ("Supported version skew"):
 * - kube-apiserver: "In highly-available (HA) clusters, the newest and oldest kube-apiserver instances must
 *   be within one minor version."
 * - kubelet: "kubelet must not be newer than kube-apiserver. kubelet may be up to three minor versions older
 *   than kube-apiserver (kubelet < 1.25 may only be up to two minor versions older than kube-apiserver)."
 *   In HA the window narrows: with apiservers at 1.35 and 1.34 a kubelet is supported at 1.34, 1.33 and
 *   1.32 — never newer than the OLDEST apiserver, at most three minors behind the NEWEST.
 * - kube-controller-manager, kube-scheduler: "must not be newer than the kube-apiserver instances they
 *   communicate with. They are expected to match the kube-apiserver minor version, but may be up to one
 *   minor version older (to allow live upgrades)."
 *
 * Note the kubelet exception is stated on the KUBELET's version (< 1.25), not the apiserver's: an apiserver
 * at 1.27 accepts kubelets down to 1.25 (two back, since 1.24 < 1.25), an apiserver at 1.28 down to 1.25
 * (three back). Equivalently: n-2 for apiservers below 1.28, n-3 from 1.28 on.
 *
 * All rules compare MAJOR.MINOR only; a patch difference is never a skew violation.
 */
import {
  compareMinors,
  formatVersion,
  newestVersion,
  oldestVersion,
  type KubeVersion,
} from "./versions.js";

/** The versions of the Kubernetes components on one control-plane node. */
export interface ControlPlaneNodeVersions<V = KubeVersion> {
  /** kube-apiserver static pod. */
  readonly apiserver: V;
  /** kube-controller-manager static pod; talks to THIS node's apiserver (see {@link VersionState}). */
  readonly controllerManager: V;
  /** kube-scheduler static pod; talks to THIS node's apiserver. */
  readonly scheduler: V;
  /** The node's kubelet (`status.nodeInfo.kubeletVersion`); reaches the apiservers through the endpoint. */
  readonly kubelet: V;
}

/**
 * One cluster's versions, node-oriented: one entry per control-plane node, one kubelet per worker node.
 *
 * Why per node and not flat `apiservers[]`/`kubelets[]`: kubeadm points kube-controller-manager and
 * kube-scheduler at the LOCAL apiserver (`LocalAPIEndpoint`, kubernetes/kubernetes#94398, since 1.19.1),
 * precisely so that upgrading one control-plane node at a time never makes them talk to an older apiserver.
 * Their rule is therefore checked against the apiserver of their own node, which needs the pairing. The
 * kubelets, CP and worker alike, reach the apiservers through the control-plane endpoint (a load balancer),
 * so they are checked against the oldest AND newest apiserver. Worker kubelets are kept apart from
 * control-plane kubelets because they upgrade in a different phase and under the skew policy.
 *
 * `V` is the version type: `KubeVersion` once parsed, `string` as observed (see `planLadder`).
 */
export interface VersionState<V = KubeVersion> {
  readonly controlPlane: readonly ControlPlaneNodeVersions<V>[];
  readonly workers: readonly V[];
}

/** Closed vocabulary of the skew rules a state can break. */
export type SkewRule =
  | "no-control-plane"
  | "apiserver-skew"
  | "kubelet-newer-than-apiserver"
  | "kubelet-too-old"
  | "controller-manager-newer-than-apiserver"
  | "controller-manager-too-old"
  | "scheduler-newer-than-apiserver"
  | "scheduler-too-old";

/** One broken rule, as data. `detail` names the versions and the node, for people. */
export interface SkewViolation {
  readonly rule: SkewRule;
  readonly detail: string;
}

/**
 * How many minors `component` is behind `reference` (negative when ahead). Across majors, where the
 * policy defines nothing, the distance is infinite, so every rule fails on it rather than guessing.
 */
function minorsBehind(component: KubeVersion, reference: KubeVersion): number {
  if (component.major === reference.major) return reference.minor - component.minor;
  return compareMinors(component, reference) < 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/**
 * The number of minors a kubelet at `kubelet` may lag the newest apiserver: 2 for kubelets older than
 * 1.25, 3 from 1.25 on (the policy's exception is worded on the kubelet's version).
 */
export function kubeletSkewAllowance(kubelet: KubeVersion): 2 | 3 {
  return kubelet.major < 1 || (kubelet.major === 1 && kubelet.minor < 25) ? 2 : 3;
}

/** True when a kubelet at `kubelet` is further behind an apiserver at `apiserver` than the policy allows. */
export function kubeletTooOld(kubelet: KubeVersion, apiserver: KubeVersion): boolean {
  return minorsBehind(kubelet, apiserver) > kubeletSkewAllowance(kubelet);
}

/** True when a kubelet at `kubelet` is in a newer minor than an apiserver at `apiserver`. */
export function kubeletNewerThan(kubelet: KubeVersion, apiserver: KubeVersion): boolean {
  return compareMinors(kubelet, apiserver) > 0;
}

/** True when every apiserver is within one minor of every other (the HA rule). */
export function apiserversWithinSkew(apiservers: readonly KubeVersion[]): boolean {
  const oldest = oldestVersion(apiservers);
  const newest = newestVersion(apiservers);
  return oldest === undefined || newest === undefined || minorsBehind(oldest, newest) <= 1;
}

function checkKubelet(kubelet: KubeVersion, where: string, oldest: KubeVersion, newest: KubeVersion): SkewViolation[] {
  const violations: SkewViolation[] = [];
  if (kubeletNewerThan(kubelet, oldest)) {
    violations.push({
      rule: "kubelet-newer-than-apiserver",
      detail: `kubelet ${formatVersion(kubelet)} on ${where} is newer than the oldest kube-apiserver ${formatVersion(oldest)}`,
    });
  }
  if (kubeletTooOld(kubelet, newest)) {
    violations.push({
      rule: "kubelet-too-old",
      detail: `kubelet ${formatVersion(kubelet)} on ${where} is more than ${kubeletSkewAllowance(kubelet)} minor versions older than kube-apiserver ${formatVersion(newest)}`,
    });
  }
  return violations;
}

function checkLocalComponent(
  name: "controller-manager" | "scheduler",
  version: KubeVersion,
  apiserver: KubeVersion,
  where: string,
): SkewViolation[] {
  const behind = minorsBehind(version, apiserver);
  const component = `kube-${name} ${formatVersion(version)} on ${where}`;
  if (behind < 0) {
    return [{ rule: `${name}-newer-than-apiserver`, detail: `${component} is newer than its kube-apiserver ${formatVersion(apiserver)}` }];
  }
  if (behind > 1) {
    return [{ rule: `${name}-too-old`, detail: `${component} is more than one minor version older than its kube-apiserver ${formatVersion(apiserver)}` }];
  }
  return [];
}

/**
 * Every skew rule `state` breaks, in a fixed order (apiservers, then control-plane nodes in order, then
 * workers in order); empty when the state is supported. Pure and total: never throws.
 */
export function checkSkew(state: VersionState): SkewViolation[] {
  const apiservers = state.controlPlane.map((node) => node.apiserver);
  const oldest = oldestVersion(apiservers);
  const newest = newestVersion(apiservers);
  if (oldest === undefined || newest === undefined) {
    return [{ rule: "no-control-plane", detail: "the cluster has no control-plane node, so no kube-apiserver to check skew against" }];
  }
  const violations: SkewViolation[] = [];
  if (!apiserversWithinSkew(apiservers)) {
    violations.push({
      rule: "apiserver-skew",
      detail: `kube-apiserver instances ${formatVersion(oldest)} and ${formatVersion(newest)} are more than one minor version apart`,
    });
  }
  state.controlPlane.forEach((node, index) => {
    const where = `control-plane node ${index + 1}`;
    violations.push(
      ...checkLocalComponent("controller-manager", node.controllerManager, node.apiserver, where),
      ...checkLocalComponent("scheduler", node.scheduler, node.apiserver, where),
      ...checkKubelet(node.kubelet, where, oldest, newest),
    );
  });
  state.workers.forEach((kubelet, index) => {
    violations.push(...checkKubelet(kubelet, `worker node ${index + 1}`, oldest, newest));
  });
  return violations;
}

/** True when `state` breaks no skew rule. */
export function isWithinSkew(state: VersionState): boolean {
  return checkSkew(state).length === 0;
}
