/**
 * Builders for what a kubeadm cluster's API returns — Nodes, static (mirror) pods, `kubeadm-config` — as
 * plain objects shaped like the API server's JSON, so parser tests read as "a node at 1.34.2 in zone-a"
 * rather than as copied YAML.
 */
import type { NodeLike } from "../../../../src/kube/nodes.js";
import type { ConfigMapLike, PodLike } from "../../../../src/drivers/kubeadm/parse.js";

/** A Node as the API server sends it. */
export function node(
  name: string,
  options: { role?: "control-plane" | "worker"; kubelet?: string; zone?: string; ready?: boolean; unschedulable?: boolean } = {},
): NodeLike {
  const labels: Record<string, string> = { "kubernetes.io/hostname": name };
  if ((options.role ?? "worker") === "control-plane") labels["node-role.kubernetes.io/control-plane"] = "";
  if (options.zone) labels["topology.kubernetes.io/zone"] = options.zone;
  return {
    metadata: { name, labels },
    spec: options.unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [{ type: "Ready", status: options.ready === false ? "False" : "True" }],
      nodeInfo: { kubeletVersion: `v${options.kubelet ?? "1.34.2"}` },
    },
  };
}

/** The mirror pod of one kubeadm static pod on `nodeName`. */
export function staticPod(
  component: string,
  nodeName: string,
  image: string,
  options: { ready?: boolean; mirror?: boolean } = {},
): PodLike {
  return {
    metadata: {
      name: `${component}-${nodeName}`,
      labels: { component, tier: "control-plane" },
      annotations: options.mirror === false ? {} : { "kubernetes.io/config.mirror": "0123abcd", "kubernetes.io/config.source": "file" },
    },
    spec: { nodeName, containers: [{ name: component, image }] },
    status: { conditions: [{ type: "Ready", status: options.ready === false ? "False" : "True" }] },
  };
}

/** The four static pods kubeadm runs on a control-plane node with stacked etcd, at `version`. */
export function controlPlanePods(nodeName: string, version: string, etcdTag = "3.6.4-0"): PodLike[] {
  return [
    staticPod("kube-apiserver", nodeName, `registry.k8s.io/kube-apiserver:v${version}`),
    staticPod("kube-controller-manager", nodeName, `registry.k8s.io/kube-controller-manager:v${version}`),
    staticPod("kube-scheduler", nodeName, `registry.k8s.io/kube-scheduler:v${version}`),
    staticPod("etcd", nodeName, `registry.k8s.io/etcd:${etcdTag}`),
  ];
}

/**
 * `kube-system/kubeadm-config` as `kubeadm init` (v1.34) writes it: a v1beta4 ClusterConfiguration with the
 * fields kubeadm always fills in.
 */
export function kubeadmConfig(options: { version?: string; endpoint?: string | null; etcd?: string } = {}): ConfigMapLike {
  const endpoint = options.endpoint === null ? "" : `controlPlaneEndpoint: ${options.endpoint ?? "api.example.com:6443"}\n`;
  const etcd = options.etcd ?? "etcd:\n  local:\n    dataDir: /var/lib/etcd\n";
  return {
    data: {
      ClusterConfiguration:
        "apiServer: {}\n" +
        "apiVersion: kubeadm.k8s.io/v1beta4\n" +
        "caCertificateValidityPeriod: 87600h0m0s\n" +
        "certificateValidityPeriod: 8760h0m0s\n" +
        "certificatesDir: /etc/kubernetes/pki\n" +
        "clusterName: kubernetes\n" +
        endpoint +
        "controllerManager: {}\n" +
        "dns: {}\n" +
        "encryptionAlgorithm: RSA-2048\n" +
        etcd +
        "imageRepository: registry.k8s.io\n" +
        "kind: ClusterConfiguration\n" +
        `kubernetesVersion: v${options.version ?? "1.34.2"}\n` +
        "networking:\n  dnsDomain: cluster.local\n  serviceSubnet: 10.96.0.0/12\n" +
        "proxy: {}\n" +
        "scheduler: {}\n",
    },
  };
}
