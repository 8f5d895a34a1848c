/**
 * Seeds the Cluster API side of a sandbox cluster: in the sandbox cluster that plays its management
 * cluster, the Cluster API CRDs, the namespace, a `Cluster`, its `KubeadmControlPlane` and one
 * `MachineDeployment` `<name>-md-0`, each with the status Cluster API's controllers would report once the
 * cluster has converged (every replica ready and updated, `status.version` set). No Cluster API controller
 * runs in the sandbox: the objects only look like a converged cluster, which is what bosun observes.
 *
 * Everything goes through the real API server (spec by create, status through the status subresource) and
 * is idempotent: seeding again changes nothing.
 */
import { BosunError, type ErrorReason } from "../errors.js";
import { GROUPS, identity, objectIdentity } from "../identity.js";
import type { KubeObject, KubeRest } from "../kube/rest.js";
import {
  CAPI_VERSION,
  CLUSTER_API_CRDS,
  CLUSTER_GROUP,
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_GROUP,
  CONTROL_PLANE_MACHINE_LABEL,
  DEPLOYMENT_NAME_LABEL,
} from "./capi-crds.js";
import { waitFor } from "./health.js";
import type { SeedCluster } from "./seed-spec.js";

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
/** How long a CRD may take to become Established. */
const ESTABLISHED_TIMEOUT_MS = 60_000;
/** How long a new kind may answer 404 after its CRD is Established (the handler is installed just after). */
const SERVED_TIMEOUT_MS = 10_000;
/** Who wrote the seeded fields, in `metadata.managedFields`: the sandbox, standing in for Cluster API. */
const FIELD_MANAGER = "bosun-sandbox";

/** Installs the Cluster API CRDs in a cluster and waits until every one is Established. */
export async function installClusterAPICRDs(rest: KubeRest, signal?: AbortSignal): Promise<void> {
  for (const crd of CLUSTER_API_CRDS) {
    await create(rest, CRD_PATH, crd, identity({ cluster: rest.cluster, group: GROUPS.apiextensions, kind: "CustomResourceDefinition", name: crd.metadata.name }));
  }
  await waitFor(
    `${rest.cluster}: Cluster API CRDs Established`,
    async () => {
      const established = await Promise.all(CLUSTER_API_CRDS.map((crd) => crdEstablished(rest, crd.metadata.name)));
      return established.every(Boolean);
    },
    ESTABLISHED_TIMEOUT_MS,
    [],
    signal,
  );
}

async function crdEstablished(rest: KubeRest, name: string): Promise<boolean> {
  const crd = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`${CRD_PATH}/${name}`);
  return crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true;
}

/** A MachineDeployment to seed: `replicas` machines at `version` (no leading v), all ready and updated. */
export interface MachineDeploymentSeed {
  namespace: string;
  /** Name of the Cluster it belongs to. */
  cluster: string;
  name: string;
  replicas: number;
  version: string;
}

/** A KubeadmControlPlane to seed: `replicas` control-plane machines at `version`, all ready and updated. */
export interface ControlPlaneSeed {
  namespace: string;
  cluster: string;
  name: string;
  replicas: number;
  version: string;
}

/** Name of the KubeadmControlPlane of a seeded Cluster, after the usual `<cluster>-control-plane`. */
export function controlPlaneName(cluster: string): string {
  return `${cluster}-control-plane`;
}

/**
 * The Cluster API objects of a CAPI-managed sandbox cluster, derived from its nodes: the control plane
 * has one replica per control-plane node at the cluster's version, the MachineDeployment `<name>-md-0` one
 * replica per worker at the workers' (one) version. `cluster.clusterAPI` must be set.
 */
export function clusterAPISeeds(cluster: SeedCluster): { controlPlane: ControlPlaneSeed; machineDeployment: MachineDeploymentSeed } {
  const ref = cluster.clusterAPI;
  if (!ref) throw new BosunError(`sandbox cluster ${cluster.name} is not managed through Cluster API`, { reason: "Internal" });
  const workers = cluster.nodes.filter((n) => n.role === "worker");
  return {
    controlPlane: {
      namespace: ref.namespace,
      cluster: ref.name,
      name: controlPlaneName(ref.name),
      replicas: cluster.nodes.length - workers.length,
      version: cluster.kubernetesVersion,
    },
    machineDeployment: {
      namespace: ref.namespace,
      cluster: ref.name,
      name: `${ref.name}-md-0`,
      replicas: workers.length,
      version: workers[0]?.kubeletVersion ?? cluster.kubernetesVersion,
    },
  };
}

/**
 * Seeds the Cluster API objects of `cluster` into `management` (a client for the sandbox cluster named by
 * `cluster.clusterAPI.management`, whose CRDs {@link installClusterAPICRDs} installed): the namespace, the
 * Cluster, then the KubeadmControlPlane and MachineDeployment, owned by the Cluster.
 */
export async function seedClusterAPI(management: KubeRest, cluster: SeedCluster): Promise<void> {
  const ref = cluster.clusterAPI;
  if (!ref) return;
  const { controlPlane, machineDeployment } = clusterAPISeeds(cluster);
  await create(management, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ref.namespace } }, identity({ cluster: management.cluster, group: GROUPS.core, kind: "Namespace", name: ref.namespace }));
  const uid = await seedObject(management, clusterObject(ref.namespace, ref.name, cluster.controlPlaneEndpoint, controlPlane.name));
  const owner: ClusterOwner = { apiVersion: `${CLUSTER_GROUP}/${CAPI_VERSION}`, kind: "Cluster", name: ref.name, uid };
  await seedObject(management, controlPlaneObject(controlPlane, owner));
  await seedObject(management, machineDeploymentObject(machineDeployment, owner));
}

/** An owner reference to a seeded Cluster, as Cluster API's controllers set on the objects of a cluster. */
export interface ClusterOwner {
  apiVersion: string;
  kind: "Cluster";
  name: string;
  uid: string;
}

/** One Cluster API object to seed: the object to create, where, and its converged status. */
export interface SeedObject {
  /** The resource (plural) of its kind. */
  plural: string;
  object: KubeObject & { metadata: { namespace: string } };
  /** The status to set, given the object's `metadata.generation` (it becomes `status.observedGeneration`). */
  status: (generation: number) => Record<string, unknown>;
}

/** A provisioned `Cluster` whose control plane is the KubeadmControlPlane `controlPlane`. */
export function clusterObject(namespace: string, name: string, controlPlaneEndpoint: string, controlPlane: string): SeedObject {
  const [host = controlPlaneEndpoint, port = "6443"] = splitHostPort(controlPlaneEndpoint);
  return {
    plural: "clusters",
    object: {
      apiVersion: `${CLUSTER_GROUP}/${CAPI_VERSION}`,
      kind: "Cluster",
      metadata: { name, namespace },
      spec: {
        controlPlaneEndpoint: { host, port: Number(port) },
        controlPlaneRef: { apiVersion: `${CONTROL_PLANE_GROUP}/${CAPI_VERSION}`, kind: "KubeadmControlPlane", namespace, name: controlPlane },
      },
    },
    status: (generation) => ({ phase: "Provisioned", controlPlaneReady: true, infrastructureReady: true, observedGeneration: generation }),
  };
}

/** A converged KubeadmControlPlane: every replica ready and updated, `status.version` = `spec.version`. */
export function controlPlaneObject(seed: ControlPlaneSeed, owner?: ClusterOwner): SeedObject {
  return {
    plural: "kubeadmcontrolplanes",
    object: {
      apiVersion: `${CONTROL_PLANE_GROUP}/${CAPI_VERSION}`,
      kind: "KubeadmControlPlane",
      metadata: { name: seed.name, namespace: seed.namespace, labels: { [CLUSTER_NAME_LABEL]: seed.cluster }, ...(owner ? { ownerReferences: [owner] } : {}) },
      spec: { replicas: seed.replicas, version: `v${seed.version}` },
    },
    status: (generation) => ({
      version: `v${seed.version}`,
      replicas: seed.replicas,
      readyReplicas: seed.replicas,
      updatedReplicas: seed.replicas,
      unavailableReplicas: 0,
      ready: true,
      initialized: true,
      selector: `${CLUSTER_NAME_LABEL}=${seed.cluster},${CONTROL_PLANE_MACHINE_LABEL}`,
      observedGeneration: generation,
    }),
  };
}

/** A converged MachineDeployment: every replica ready, available and updated. */
export function machineDeploymentObject(seed: MachineDeploymentSeed, owner?: ClusterOwner): SeedObject {
  const selector = { [CLUSTER_NAME_LABEL]: seed.cluster, [DEPLOYMENT_NAME_LABEL]: seed.name };
  return {
    plural: "machinedeployments",
    object: {
      apiVersion: `${CLUSTER_GROUP}/${CAPI_VERSION}`,
      kind: "MachineDeployment",
      metadata: { name: seed.name, namespace: seed.namespace, labels: { [CLUSTER_NAME_LABEL]: seed.cluster }, ...(owner ? { ownerReferences: [owner] } : {}) },
      spec: {
        clusterName: seed.cluster,
        replicas: seed.replicas,
        selector: { matchLabels: selector },
        template: { metadata: { labels: selector }, spec: { clusterName: seed.cluster, version: `v${seed.version}` } },
      },
    },
    status: (generation) => ({
      phase: "Running",
      replicas: seed.replicas,
      readyReplicas: seed.replicas,
      availableReplicas: seed.replicas,
      updatedReplicas: seed.replicas,
      unavailableReplicas: 0,
      selector: Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(","),
      observedGeneration: generation,
    }),
  };
}

/**
 * Creates a seed object unless it exists, then merge-patches its status subresource. Returns the object's
 * uid. A kind whose CRD was just Established may answer 404 for a moment, so the create is retried until
 * the kind is served.
 */
export async function seedObject(rest: KubeRest, seed: SeedObject): Promise<string> {
  const { object } = seed;
  const group = object.apiVersion.split("/")[0] ?? "";
  const collection = `/apis/${group}/${CAPI_VERSION}/namespaces/${encodeURIComponent(object.metadata.namespace)}/${seed.plural}`;
  const id = objectIdentity(rest.cluster, object);
  await waitFor(`${id} to be served`, async () => (await create(rest, collection, object, id, [404])) !== 404, SERVED_TIMEOUT_MS, []);
  const path = `${collection}/${encodeURIComponent(object.metadata.name)}`;
  const live = await rest.get<Created>(path);
  if (!live?.metadata?.uid) throw seedError(id, "it was not found right after it was created", "Internal");
  const response = await rest.send({
    method: "PATCH",
    path: `${path}/status`,
    query: { fieldManager: FIELD_MANAGER },
    body: JSON.stringify({ status: seed.status(live.metadata.generation ?? 1) }),
    contentType: "application/merge-patch+json",
  });
  expectOk(response, id, "setting its status");
  return live.metadata.uid;
}

interface Created {
  metadata?: { name?: string; uid?: string; generation?: number };
}

/** POSTs `object` to `collection`; "already exists" counts as done. Returns the HTTP status. */
async function create(rest: KubeRest, collection: string, object: unknown, what: string, tolerate: readonly number[] = []): Promise<number> {
  const response = await rest.send({ method: "POST", path: collection, query: { fieldManager: FIELD_MANAGER }, body: JSON.stringify(object), contentType: "application/json" });
  if (response.status === 409 || tolerate.includes(response.status)) return response.status;
  expectOk(response, what, "creating it");
  return response.status;
}

function expectOk(response: { status: number; body: string }, what: string, doing: string): void {
  if (response.status >= 200 && response.status < 300) return;
  let detail = response.body.slice(0, 300);
  try {
    const parsed = JSON.parse(response.body) as { message?: unknown };
    if (typeof parsed.message === "string") detail = parsed.message;
  } catch {
    // not a Status object: keep the start of the body
  }
  throw seedError(what, `${doing} failed: HTTP ${response.status}: ${detail}`, "SandboxStartFailed");
}

function seedError(what: string, message: string, reason: ErrorReason): BosunError {
  return new BosunError(`seeding ${what}: ${message}`, { reason, identity: what });
}

/** `host:port` → `[host, port]`; a bare host gives `[host]`. Handles bracketed IPv6 hosts. */
function splitHostPort(endpoint: string): string[] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  return match ? [match[1] ?? endpoint, match[2] ?? "6443"] : [endpoint];
}
