/**
 * The skew guard the kubeadm driver asks before every node it touches (DESIGN section 4, issue "skew
 * guards at execution time"): given the versions observed just now and one move — a control-plane node's
 * static pods, or some kubelets, to a version — is the state after the move still inside the version-skew
 * policy, and does the move skip no minor? The plan said the move was safe when it was computed; the
 * cluster may have changed since (someone upgraded a node by hand, a node joined), so the driver never
 * trusts it and asks again.
 *
 * Pure: observed versions in, problems out. No problem means the move may start.
 */
import type { ObservedKubeadm } from "./observed.js";
import { checkSkew, type VersionState } from "./skew.js";
import { compareVersions, formatVersion, minorDistance, parseVersion, type KubeVersion } from "./versions.js";

/** One control-plane node's static pods, or kubelets, moving to a version. */
export type NodeMove =
  | { kind: "static-pods"; node: string; to: string }
  | { kind: "kubelet"; nodes: readonly string[]; to: string };

interface ParsedNode {
  name: string;
  role: "control-plane" | "worker";
  apiserver: KubeVersion;
  controllerManager: KubeVersion;
  scheduler: KubeVersion;
  kubelet: KubeVersion;
}

/**
 * What makes `move` unsafe on the cluster as observed: unknown nodes, unparseable versions, a static-pod
 * move that skips a minor, and every skew rule the state after the move would break. Empty when it is safe.
 */
export function moveProblems(observed: ObservedKubeadm, move: NodeMove): string[] {
  const problems: string[] = [];
  const parse = (text: string, where: string): KubeVersion | undefined => {
    const result = parseVersion(text);
    if (result.ok) return result.version;
    problems.push(`${where}: ${result.detail}`);
    return undefined;
  };
  const to = parse(move.to, "target version");
  const pods = new Map(observed.controlPlane.map((entry) => [entry.node, entry]));
  const nodes: ParsedNode[] = [];
  for (const node of observed.nodes) {
    const kubelet = parse(node.kubelet, `kubelet on ${node.name}`);
    const entry = pods.get(node.name);
    // As in `versionState`: a missing static pod stands at its node's kubelet version.
    const component = (value: string | null | undefined, what: string): KubeVersion | undefined =>
      node.role === "worker" ? kubelet : parse(value ?? node.kubelet, `${what} on ${node.name}`);
    const apiserver = component(entry?.apiserver, "kube-apiserver");
    const controllerManager = component(entry?.controllerManager, "kube-controller-manager");
    const scheduler = component(entry?.scheduler, "kube-scheduler");
    if (kubelet && apiserver && controllerManager && scheduler) {
      nodes.push({ name: node.name, role: node.role, apiserver, controllerManager, scheduler, kubelet });
    }
  }
  if (problems.length > 0 || to === undefined) return problems;

  const raise = (version: KubeVersion): KubeVersion => (compareVersions(version, to) < 0 ? to : version);
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const after = nodes.map((node) => ({ ...node }));
  if (move.kind === "static-pods") {
    const node = byName.get(move.node);
    if (!node) return [`node ${move.node} is no longer in the cluster`];
    if (node.role !== "control-plane") return [`node ${move.node} is not a control-plane node`];
    const distance = minorDistance(node.apiserver, to);
    if (distance !== undefined && distance > 1) {
      problems.push(`kube-apiserver on ${node.name} is at ${formatVersion(node.apiserver)}: going to ${formatVersion(to)} would skip a minor version`);
    }
    const target = after.find((n) => n.name === move.node);
    if (target) {
      target.apiserver = raise(target.apiserver);
      target.controllerManager = raise(target.controllerManager);
      target.scheduler = raise(target.scheduler);
    }
  } else {
    for (const name of move.nodes) {
      const target = after.find((n) => n.name === name);
      if (!target) {
        problems.push(`node ${name} is no longer in the cluster`);
        continue;
      }
      target.kubelet = raise(target.kubelet);
    }
  }
  const violations = checkSkew(stateOf(after)).map((violation) => violation.detail);
  return [...problems, ...violations.map((detail) => `${describe(move)} would break the version-skew policy: ${detail}`)];
}

/** The node-oriented version state of parsed nodes, control-plane nodes and workers in name order. */
function stateOf(nodes: readonly ParsedNode[]): VersionState {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    controlPlane: sorted
      .filter((n) => n.role === "control-plane")
      .map((n) => ({ apiserver: n.apiserver, controllerManager: n.controllerManager, scheduler: n.scheduler, kubelet: n.kubelet })),
    workers: sorted.filter((n) => n.role === "worker").map((n) => n.kubelet),
  };
}

function describe(move: NodeMove): string {
  return move.kind === "static-pods"
    ? `moving the control plane on ${move.node} to ${move.to}`
    : `moving the kubelet${move.nodes.length === 1 ? "" : "s"} on ${move.nodes.join(", ")} to ${move.to}`;
}
