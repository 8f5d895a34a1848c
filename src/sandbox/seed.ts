/**
 * Creates, through the real API server, what a kubeadm cluster shows: `kube-system/kubeadm-config`, Nodes
 * with versions, roles and zones, and static control-plane pods (mirror pods) per control-plane node.
 * Idempotent: seeding a cluster that is already seeded changes nothing.
 */
import type * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { clientsFor } from "../kube/config.js";
import { BosunError } from "../errors.js";
import { createIfAbsent, retryOnConflict } from "../kube/errors.js";
import { CONTROL_PLANE_LABEL, ZONE_LABEL } from "../kube/nodes.js";
import { CONTROL_PLANE_COMPONENTS, IMAGE_REPOSITORY, componentImage, type ControlPlaneComponent } from "./images.js";
import type { SeedCluster, SeedNode } from "./seed-spec.js";

// The labels live with the node parser (`src/kube/nodes.ts`), so seeding and observing agree on them.
export { CONTROL_PLANE_LABEL, ZONE_LABEL };

/** The ClusterConfiguration document kubeadm stores in `kubeadm-config`. */
export function clusterConfiguration(cluster: SeedCluster, version: string): string {
  return stringify({
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    clusterName: cluster.name,
    kubernetesVersion: `v${version}`,
    controlPlaneEndpoint: cluster.controlPlaneEndpoint,
    certificatesDir: "/etc/kubernetes/pki",
    imageRepository: IMAGE_REPOSITORY,
    etcd: { local: { dataDir: "/var/lib/etcd" } },
    networking: { dnsDomain: "cluster.local", serviceSubnet: "10.96.0.0/12", podSubnet: "10.244.0.0/16" },
    apiServer: {},
    controllerManager: {},
    scheduler: {},
    dns: {},
  });
}

/** Seeds one cluster. */
export async function seedCluster(kc: k8s.KubeConfig, cluster: SeedCluster): Promise<void> {
  const { core } = clientsFor(kc);
  await createIfAbsent(() =>
    core.createNamespacedConfigMap({
      namespace: "kube-system",
      body: {
        metadata: { name: "kubeadm-config", namespace: "kube-system" },
        data: { ClusterConfiguration: clusterConfiguration(cluster, cluster.kubernetesVersion) },
      },
    }),
  );
  for (const node of cluster.nodes) {
    const created = await seedNode(core, cluster, node);
    if (node.role === "control-plane") {
      for (const component of CONTROL_PLANE_COMPONENTS) {
        await seedStaticPod(core, created, component, node.kubeletVersion ?? cluster.kubernetesVersion);
      }
    }
  }
}

async function seedNode(core: k8s.CoreV1Api, cluster: SeedCluster, node: SeedNode): Promise<k8s.V1Node> {
  const version = node.kubeletVersion ?? cluster.kubernetesVersion;
  const labels: Record<string, string> = {
    "kubernetes.io/hostname": node.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "node.kubernetes.io/exclude-from-external-load-balancers": "",
  };
  if (node.role === "control-plane") labels[CONTROL_PLANE_LABEL] = "";
  else delete labels["node.kubernetes.io/exclude-from-external-load-balancers"];
  if (node.zone) labels[ZONE_LABEL] = node.zone;
  const body: k8s.V1Node = {
    metadata: {
      name: node.name,
      labels,
      annotations: {
        "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
        "node.alpha.kubernetes.io/ttl": "0",
      },
    },
    spec: node.role === "control-plane" ? { taints: [{ key: CONTROL_PLANE_LABEL, effect: "NoSchedule" }] } : {},
  };
  const now = new Date();
  // The status goes into the create request (the API server keeps a Node's status on create, as kubelet
  // registration relies on), so in full mode kwok never sees a version-less node it could race with.
  body.status = {
    nodeInfo: {
      architecture: "amd64",
      operatingSystem: "linux",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      kernelVersion: "6.1.0-sandbox",
      containerRuntimeVersion: "containerd://1.7.24",
      kubeletVersion: `v${version}`,
      kubeProxyVersion: `v${version}`,
      bootID: "",
      machineID: "",
      systemUUID: "",
    },
    conditions: [
      { type: "Ready", status: "True", reason: "KubeletReady", message: "sandbox node", lastHeartbeatTime: now, lastTransitionTime: now },
    ],
    addresses: [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: node.name },
    ],
    capacity: { cpu: "32", memory: "128Gi", pods: "110" },
    allocatable: { cpu: "32", memory: "128Gi", pods: "110" },
  };
  await createIfAbsent(() => core.createNode({ body }));
  const created = await core.readNode({ name: node.name });
  if (!created.status?.nodeInfo?.kubeletVersion) {
    throw new BosunError(`seeding ${node.name}: the API server dropped the node's status on create`, { reason: "SandboxStartFailed" });
  }
  return created;
}

async function seedStaticPod(
  core: k8s.CoreV1Api,
  node: k8s.V1Node,
  component: ControlPlaneComponent,
  version: string,
): Promise<void> {
  const nodeName = node.metadata?.name ?? "";
  const name = `${component}-${nodeName}`;
  const image = componentImage(component, version);
  const body: k8s.V1Pod = {
    metadata: {
      name,
      namespace: "kube-system",
      labels: { component, tier: "control-plane" },
      annotations: {
        // What the kubelet puts on the mirror pod of a static pod; drains skip pods with it.
        "kubernetes.io/config.mirror": `sandbox-${name}`,
        "kubernetes.io/config.source": "file",
        "kubernetes.io/config.hash": `sandbox-${name}`,
      },
      ownerReferences: [
        { apiVersion: "v1", kind: "Node", name: nodeName, uid: node.metadata?.uid ?? "", controller: true },
      ],
    },
    spec: {
      nodeName,
      hostNetwork: true,
      priorityClassName: "system-node-critical",
      tolerations: [{ operator: "Exists", effect: "NoExecute" }],
      containers: [{ name: component, image, command: [component] }],
    },
  };
  await createIfAbsent(() => core.createNamespacedPod({ namespace: "kube-system", body }));
  await retryOnConflict(async () => {
  const pod = await core.readNamespacedPodStatus({ name, namespace: "kube-system" });
  // In full mode kwok may have marked it Running already.
  if (pod.status?.phase === "Running") return;
  const now = new Date();
  await core.replaceNamespacedPodStatus({
    name,
    namespace: "kube-system",
    body: {
      ...pod,
      status: {
        phase: "Running",
        hostIP: "127.0.0.1",
        podIP: "127.0.0.1",
        startTime: now,
        conditions: [
          { type: "Initialized", status: "True", lastTransitionTime: now },
          { type: "ContainersReady", status: "True", lastTransitionTime: now },
          { type: "Ready", status: "True", lastTransitionTime: now },
          { type: "PodScheduled", status: "True", lastTransitionTime: now },
        ],
        containerStatuses: [
          { name: component, image, imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } },
        ],
      },
    },
  });
  });
}
