/**
 * `observedCluster()`: an observed cluster built from a compact description, for planner tests. Defaults
 * describe a healthy kubeadm cluster at one version whose add-ons and backups already match the spec, so
 * a test states only what differs.
 */
import type {
  AddonObservation,
  InstalledAddon,
  ObjectChange,
  ObservedBackup,
  ObservedClusterAPI,
  ObservedKubeadm,
  ObservedNode,
  ObservedReachable,
} from "../../../src/plan/observed.js";

/** A compact kubeadm cluster: control-plane node versions (all components) and worker kubelet versions. */
export interface KubeadmShape {
  controlPlane: string[];
  workers: string[];
  zones?: string[];
  endpoint?: string | null;
  notReady?: string[];
  cordoned?: string[];
}

/** Builds the kubeadm driver's observation. */
export function kubeadm(cluster: string, shape: KubeadmShape): ObservedKubeadm {
  const nodes: ObservedNode[] = [];
  shape.controlPlane.forEach((version, i) => {
    const name = `${cluster}-cp-${i + 1}`;
    nodes.push(node(name, "control-plane", version, shape.zones?.[i] ?? null, shape));
  });
  shape.workers.forEach((version, i) => {
    const name = `${cluster}-worker-${i + 1}`;
    nodes.push(node(name, "worker", version, shape.zones?.[i % (shape.zones.length || 1)] ?? null, shape));
  });
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  const controlPlane = shape.controlPlane.map((version, i) => ({
    node: `${cluster}-cp-${i + 1}`,
    apiserver: version,
    controllerManager: version,
    scheduler: version,
    etcd: "3.6.4-0",
    ready: true,
  }));
  return {
    kind: "kubeadm",
    clusterVersion: shape.controlPlane[0] ?? "",
    controlPlaneEndpoint: shape.endpoint === undefined ? `api.${cluster}.example:6443` : shape.endpoint,
    etcd: { mode: "stacked", members: controlPlane.map((c) => c.node) },
    nodes,
    controlPlane,
  };
}

function node(name: string, role: ObservedNode["role"], kubelet: string, zone: string | null, shape: KubeadmShape): ObservedNode {
  return { name, role, zone, kubelet, ready: !(shape.notReady ?? []).includes(name), unschedulable: (shape.cordoned ?? []).includes(name) };
}

/** Builds a Cluster API observation: one KubeadmControlPlane and MachineDeployments at versions. */
export function clusterAPI(cluster: string, cp: { version: string; replicas: number; statusVersion?: string | null }, mds: { name: string; version: string; replicas: number }[]): ObservedClusterAPI {
  return {
    kind: "clusterAPI",
    cluster: `fleet/${cluster}`,
    controlPlane: {
      name: `fleet/${cluster}-control-plane`,
      version: cp.version,
      replicas: cp.replicas,
      statusVersion: cp.statusVersion === undefined ? cp.version : cp.statusVersion,
      readyReplicas: cp.replicas,
      updatedReplicas: cp.replicas,
    },
    machineDeployments: mds.map((md) => ({ ...md, readyReplicas: md.replicas, updatedReplicas: md.replicas })),
    nodes: [],
  };
}

/** An object change. */
export function change(id: string, action: ObjectChange["action"], diff = ""): ObjectChange {
  return { id, action, diff: action === "unchanged" ? "" : diff || `--- live/${id}\n+++ desired/${id}\n@@ -1 +1 @@\n-a\n+b\n` };
}

/** A Helm add-on that is deployed and matches the spec. */
export function helmInSync(name: string, namespace: string, chart = name, version = "0.1.0"): AddonObservation {
  return {
    name,
    kind: "helm",
    namespace,
    release: { revision: 1, status: "deployed", chart, chartVersion: version },
    render: { ok: true, chart, chartVersion: version, valuesDiff: null, objects: [change(`Deployment/${namespace}/${name}`, "unchanged")], prune: [] },
  };
}

/** A Kustomize add-on that is applied and matches the spec. */
export function kustomizeInSync(name: string): AddonObservation {
  return { name, kind: "kustomize", applied: true, render: { ok: true, objects: [change(`ConfigMap/monitoring/${name}`, "unchanged")], prune: [] } };
}

/** A backup CronJob that matches the spec and ran recently. */
export function backupInSync(lastSuccessfulTime = "2026-11-23T06:00:00Z"): ObservedBackup {
  return { present: true, lastSuccessfulTime, change: change("CronJob/kube-system/bosun-etcd-backup", "unchanged") };
}

/** An observed, reachable cluster. */
export function observedCluster(
  name: string,
  driver: ObservedKubeadm | ObservedClusterAPI,
  addons: AddonObservation[] = [],
  installed: InstalledAddon[] = [],
  backup: ObservedBackup = backupInSync(),
): ObservedReachable {
  return { name, status: "observed", driver, addons: { installed, desired: addons }, backup, requests: { observe: 6, diff: 4 } };
}
