/**
 * Pure readers of what a kubeadm cluster shows through its API: the `ClusterConfiguration` document in
 * `kube-system/kubeadm-config`, the image tags of the static control-plane pods, and how those combine
 * with the Nodes into {@link ObservedKubeadm}. `observe.ts` fetches; everything here is data in, data out,
 * so it is unit-tested on plain objects.
 *
 * What kubeadm writes, for reference (kubernetes `cmd/kubeadm/app/constants` and `util/staticpod`):
 * - `kubeadm-config` holds the ClusterConfiguration under the data key `ClusterConfiguration` as YAML
 *   (`apiVersion: kubeadm.k8s.io/v1beta4` since 1.31, `v1beta3` before), with `kubernetesVersion: v1.34.2`
 *   resolved to a concrete version, `controlPlaneEndpoint` only when one was configured, and `etcd.local`
 *   (stacked) or `etcd.external.endpoints`.
 * - Static pods carry the labels `component=<container name>` and `tier=control-plane`; the kubelet
 *   publishes each as a mirror pod named `<component>-<node name>` with `spec.nodeName` set and the
 *   annotation `kubernetes.io/config.mirror`.
 */
import { parse } from "yaml";
import { withoutV, type NodeLike, parseNodes } from "../../kube/nodes.js";
import type { ObservedControlPlaneNode, ObservedKubeadm } from "../../plan/observed.js";

/** The ConfigMap kubeadm stores its cluster-wide configuration in. */
export const KUBEADM_CONFIG = { namespace: "kube-system", name: "kubeadm-config", key: "ClusterConfiguration" } as const;

/** Label value kubeadm gives every static control-plane pod (`tier=control-plane`). */
export const CONTROL_PLANE_TIER = "control-plane";

/** Annotation the kubelet puts on the mirror pod of a static pod. */
export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

/** The static control-plane components, by their `component` label, and the field each fills. */
export const STATIC_POD_COMPONENTS = {
  "kube-apiserver": "apiserver",
  "kube-controller-manager": "controllerManager",
  "kube-scheduler": "scheduler",
  etcd: "etcd",
} as const satisfies Record<string, keyof ObservedControlPlaneNode>;

type ComponentLabel = keyof typeof STATIC_POD_COMPONENTS;
type ComponentField = (typeof STATIC_POD_COMPONENTS)[ComponentLabel];

/** What bosun reads from a ClusterConfiguration. */
export interface ClusterConfigurationFacts {
  /** `kubernetesVersion` without the leading `v`. */
  kubernetesVersion: string;
  /** `controlPlaneEndpoint`, or null when none was configured. */
  controlPlaneEndpoint: string | null;
  etcd: { mode: "stacked" } | { mode: "external"; endpoints: string[] };
}

/** A problem that makes the cluster unobservable as a kubeadm cluster, for people. */
export interface Invalid {
  invalid: string;
}

/** The parts of a ConfigMap {@link kubeadmFromObjects} reads. */
export interface ConfigMapLike {
  data?: Record<string, string> | undefined;
}

/** The parts of a Pod {@link kubeadmFromObjects} reads (API JSON and client-node's `V1Pod` both fit). */
export interface PodLike {
  metadata?: {
    name?: string | undefined;
    labels?: Record<string, string> | undefined;
    annotations?: Record<string, string> | undefined;
  } | undefined;
  spec?: { nodeName?: string | undefined; containers?: readonly { name: string; image?: string | undefined }[] | undefined } | undefined;
  status?: { conditions?: readonly { type: string; status: string }[] | undefined } | undefined;
}

// MAJOR.MINOR.PATCH with an optional pre-release or build suffix, as kubeadm stores it after resolving
// labels such as `stable-1` (it never stores a label).
const VERSION = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/;

const WHERE = `${KUBEADM_CONFIG.namespace}/${KUBEADM_CONFIG.name}`;

/** Parses the `ClusterConfiguration` YAML of `kubeadm-config`. */
export function parseClusterConfiguration(text: string): ClusterConfigurationFacts | Invalid {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: false });
  } catch (error) {
    return { invalid: `${WHERE}: ${KUBEADM_CONFIG.key} is not valid YAML: ${firstLine((error as Error).message)}` };
  }
  if (!isRecord(doc)) return { invalid: `${WHERE}: ${KUBEADM_CONFIG.key} is not a YAML mapping` };
  if (doc.kind !== undefined && doc.kind !== "ClusterConfiguration") {
    return { invalid: `${WHERE}: ${KUBEADM_CONFIG.key} has kind ${JSON.stringify(doc.kind)}, expected ClusterConfiguration` };
  }
  const rawVersion = doc.kubernetesVersion;
  if (typeof rawVersion !== "string" || !VERSION.test(withoutV(rawVersion))) {
    return { invalid: `${WHERE}: ClusterConfiguration.kubernetesVersion is ${rawVersion === undefined ? "missing" : JSON.stringify(rawVersion)}, expected vMAJOR.MINOR.PATCH` };
  }
  const endpoint = doc.controlPlaneEndpoint;
  if (endpoint !== undefined && endpoint !== null && typeof endpoint !== "string") {
    return { invalid: `${WHERE}: ClusterConfiguration.controlPlaneEndpoint must be a string` };
  }
  const etcd = parseEtcd(doc.etcd);
  if ("invalid" in etcd) return etcd;
  return { kubernetesVersion: withoutV(rawVersion), controlPlaneEndpoint: endpoint ? endpoint : null, etcd };
}

function parseEtcd(etcd: unknown): ClusterConfigurationFacts["etcd"] | Invalid {
  // kubeadm defaults a missing `etcd` to local (stacked) etcd, and always writes `etcd.local` itself.
  if (etcd === undefined || etcd === null) return { mode: "stacked" };
  if (!isRecord(etcd)) return { invalid: `${WHERE}: ClusterConfiguration.etcd is not a mapping` };
  const hasLocal = etcd.local !== undefined && etcd.local !== null;
  const hasExternal = etcd.external !== undefined && etcd.external !== null;
  if (hasLocal && hasExternal) return { invalid: `${WHERE}: ClusterConfiguration.etcd has both local and external` };
  if (!hasExternal) return { mode: "stacked" };
  const endpoints = isRecord(etcd.external) ? etcd.external.endpoints : undefined;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || !endpoints.every((e) => typeof e === "string")) {
    return { invalid: `${WHERE}: ClusterConfiguration.etcd.external.endpoints must be a non-empty list of URLs` };
  }
  return { mode: "external", endpoints };
}

/**
 * The tag of an image reference, or null when it has none (`registry:5000/kube-apiserver` has no tag: the
 * colon is the registry's port) or is pinned by digest only. A digest after the tag is ignored.
 */
export function imageTag(image: string): string | null {
  const reference = image.split("@")[0] ?? "";
  const colon = reference.lastIndexOf(":");
  if (colon <= reference.lastIndexOf("/")) return null;
  const tag = reference.slice(colon + 1);
  return tag === "" ? null : tag;
}

/**
 * The version a static pod's image names: its tag without a leading `v` (`v1.34.2` → `1.34.2`; etcd's
 * `3.6.4-0` stays as it is). Null without a tag.
 */
export function imageVersion(image: string): string | null {
  const tag = imageTag(image);
  return tag === null ? null : withoutV(tag);
}

/**
 * Combines the three reads into the kubeadm observation: `kubeadm-config` (null when it does not exist),
 * every Node, and the pods labelled `tier=control-plane` in kube-system.
 */
export function kubeadmFromObjects(
  cluster: string,
  configMap: ConfigMapLike | null,
  nodes: readonly NodeLike[],
  pods: readonly PodLike[],
): ObservedKubeadm | Invalid {
  if (configMap === null) {
    return {
      invalid:
        `${WHERE} not found: is ${cluster} a kubeadm cluster? Its spec names the kubeadm provider, and kubeadm ` +
        `writes this ConfigMap at \`kubeadm init\`; for a cluster managed through Cluster API use provider.clusterAPI`,
    };
  }
  const text = configMap.data?.[KUBEADM_CONFIG.key];
  if (text === undefined) return { invalid: `${WHERE} has no ${KUBEADM_CONFIG.key} key: is ${cluster} a kubeadm cluster?` };
  const config = parseClusterConfiguration(text);
  if ("invalid" in config) return config;

  const observedNodes = parseNodes(nodes);
  const staticPods = staticPodsByNode(pods);
  const stacked = config.etcd.mode === "stacked";
  const controlPlane = observedNodes
    .filter((node) => node.role === "control-plane")
    .map((node) => controlPlaneNode(node.name, staticPods.get(node.name), stacked));
  return {
    kind: "kubeadm",
    clusterVersion: config.kubernetesVersion,
    controlPlaneEndpoint: config.controlPlaneEndpoint,
    etcd:
      config.etcd.mode === "external"
        ? config.etcd
        : { mode: "stacked", members: controlPlane.filter((entry) => staticPods.get(entry.node)?.has("etcd")).map((entry) => entry.node) },
    nodes: observedNodes,
    controlPlane,
  };
}

/** One static pod, reduced. */
interface StaticPod {
  version: string | null;
  ready: boolean;
}

/**
 * The mirror pods of kubeadm's static pods, by node and component. Pods without the mirror annotation are
 * not static pods (a workload that happens to carry `tier=control-plane`) and are skipped. The node comes
 * from `spec.nodeName`, which the kubelet always sets on a mirror pod; the `<component>-<node>` name is
 * only a convention. Should a node show two pods of one component, the first by name wins, so the result
 * does not depend on the order of the LIST.
 */
function staticPodsByNode(pods: readonly PodLike[]): Map<string, Map<ComponentField, StaticPod>> {
  const byNode = new Map<string, Map<ComponentField, StaticPod>>();
  const sorted = [...pods].sort((a, b) => compare(a.metadata?.name ?? "", b.metadata?.name ?? ""));
  for (const pod of sorted) {
    const labels = pod.metadata?.labels ?? {};
    if (labels.tier !== CONTROL_PLANE_TIER) continue;
    const component = labels.component;
    if (component === undefined || !(component in STATIC_POD_COMPONENTS)) continue;
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] === undefined) continue;
    const node = pod.spec?.nodeName;
    if (!node) continue;
    const field = STATIC_POD_COMPONENTS[component as ComponentLabel];
    const forNode = byNode.get(node) ?? new Map<ComponentField, StaticPod>();
    byNode.set(node, forNode);
    if (forNode.has(field)) continue;
    const containers = pod.spec?.containers ?? [];
    const container = containers.find((c) => c.name === component) ?? containers[0];
    const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    forNode.set(field, { version: container?.image ? imageVersion(container.image) : null, ready });
  }
  return byNode;
}

/**
 * One control-plane node's entry. `ready` asks for every static pod the node should run — apiserver,
 * controller-manager and scheduler, plus etcd when etcd is stacked — to exist and be Ready: a missing
 * mirror pod means the kubelet is not running that component as expected, which is not a state to start
 * an upgrade from.
 */
function controlPlaneNode(node: string, pods: Map<ComponentField, StaticPod> | undefined, stackedEtcd: boolean): ObservedControlPlaneNode {
  const get = (field: ComponentField): StaticPod | undefined => pods?.get(field);
  const required: ComponentField[] = stackedEtcd ? ["apiserver", "controllerManager", "scheduler", "etcd"] : ["apiserver", "controllerManager", "scheduler"];
  return {
    node,
    apiserver: get("apiserver")?.version ?? null,
    controllerManager: get("controllerManager")?.version ?? null,
    scheduler: get("scheduler")?.version ?? null,
    etcd: get("etcd")?.version ?? null,
    ready: required.every((field) => get(field)?.ready === true),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
