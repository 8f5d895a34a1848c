/**
 * A simulated Cluster API controller, run by the sandbox node agent on every tick: in a sandbox cluster
 * that plays a management cluster, it converges KubeadmControlPlanes and MachineDeployments the way
 * Cluster API's controllers would, so that bosun's Cluster API driver can be tested end to end against
 * real API servers. Like the rest of the agent it only stands in for what would run elsewhere (here, the
 * Cluster API controllers and the machines they provision); bosun talks to the API servers exactly as in
 * production.
 *
 * The model:
 * - A **machine** is a Node of the workload cluster. A KubeadmControlPlane's machines are the workload
 *   cluster's control-plane Nodes; a MachineDeployment's are its worker Nodes labelled
 *   `cluster.x-k8s.io/deployment-name=<name>`, plus the unlabelled workers for `<cluster>-md-0` (the one
 *   MachineDeployment `capi-seed.ts` seeds, for all of the sandbox.yaml's workers). Which sandbox cluster
 *   is the workload cluster of a `Cluster` is the `sandbox.bosun.dev/workload-cluster` annotation
 *   `bosun sandbox up` puts on it ({@link linkWorkloadCluster}); objects of a Cluster without it are left
 *   alone.
 * - An object is reconciled when its spec moved on from its status (`metadata.generation` ≠
 *   `status.observedGeneration`, or the status's version or replica counts differ from the spec), so the
 *   converged objects the sandbox seeds are never touched, whatever their machines.
 * - Convergence is gradual, like Cluster API's rolling update: one machine change at a time per object,
 *   each taking {@link MACHINE_MS}. Surplus machines go first (an outdated one, else the newest), then
 *   outdated machines are upgraded in place (oldest first: kubelet version, kube-proxy version and, for the
 *   control plane, the static pods' images), then missing machines are created (a Node, and static pods for
 *   the control plane). The change under way is kept in an annotation on the object
 *   (`sandbox.bosun.dev/machine-operation`), so pacing survives an agent restart and finishing it twice is
 *   harmless. While a machine changes it counts as not ready (and, while upgrading, not updated).
 * - The status (`version` = the oldest machine's, `replicas`, `updatedReplicas`, `readyReplicas`,
 *   `unavailableReplicas`, `observedGeneration`, `conditions`) is written after every change.
 * - Every finished machine change is recorded in the ConfigMap `sandbox-capi-changes` of the object's
 *   namespace in the management cluster, numbered in order ({@link readClusterAPIChanges}).
 */
import semver from "semver";
import type * as k8s from "@kubernetes/client-node";
import { identity } from "../identity.js";
import { BosunError } from "../errors.js";
import type { KubeClients } from "../kube/config.js";
import { createIfAbsent, httpStatus, retryOnConflict } from "../kube/errors.js";
import { CONTROL_PLANE_LABEL, ZONE_LABEL } from "../kube/nodes.js";
import { KubeRest } from "../kube/rest.js";
import { CAPI_VERSION, CLUSTER_GROUP, CLUSTER_NAME_LABEL, CONTROL_PLANE_GROUP, DEPLOYMENT_NAME_LABEL } from "./capi-crds.js";
import { CONTROL_PLANE_COMPONENTS } from "./images.js";
import { seedCluster } from "./seed.js";
import type { SeedCluster } from "./seed-spec.js";
import { setStaticPodImage } from "./static-pods.js";

/** Annotation on a `Cluster` naming the sandbox cluster (kubeconfig context) that is its workload cluster. */
export const WORKLOAD_CLUSTER_ANNOTATION = "sandbox.bosun.dev/workload-cluster";
/** Annotation on a KubeadmControlPlane or MachineDeployment holding the machine change under way (JSON). */
export const OPERATION_ANNOTATION = "sandbox.bosun.dev/machine-operation";
/** ConfigMap, in the namespace of the Cluster API objects, with one record per finished machine change. */
export const CHANGES_CONFIGMAP = "sandbox-capi-changes";
/** How long one machine change takes. */
export const MACHINE_MS = 1_000;

const KCP = "KubeadmControlPlane";
const MD = "MachineDeployment";
const FIELD_MANAGER = "bosun-sandbox";
/** How often a cluster that does not serve Cluster API is asked again (a test may install the CRDs later). */
const DISCOVERY_RETRY_MS = 10_000;

/** One machine: a Node of the workload cluster. */
export interface Machine {
  name: string;
  /** Its kubelet version, `vX.Y.Z`. */
  version: string;
  /** `metadata.creationTimestamp` (RFC 3339), for "oldest" and "newest". */
  created: string;
  zone: string | null;
}

/** Closed vocabulary of machine changes. */
export type MachineChangeKind = "create" | "upgrade" | "delete";

/** A machine change under way. */
export interface MachineOperation {
  change: MachineChangeKind;
  machine: string;
  /** The machine's version before the change (null for a create). */
  from: string | null;
  /** Its version after the change (null for a delete). */
  to: string | null;
  /** Zone of a machine being created. */
  zone: string | null;
  /** When the change started (RFC 3339). */
  since: string;
}

/** A KubeadmControlPlane's or MachineDeployment's machines and what its spec asks of them. */
export interface MachineGroup {
  /** `vX.Y.Z`. */
  version: string;
  replicas: number;
  machines: readonly Machine[];
  operation: MachineOperation | null;
}

/** Names and zones a new machine may take. */
export interface NewMachine {
  /** New machines are named `<prefix>-<n>`, the lowest n ≥ 1 that no Node of the cluster has. */
  prefix: string;
  /** Every Node name of the workload cluster. */
  taken: readonly string[];
  /** Every zone of the workload cluster's Nodes; a new machine goes to the one the group uses least. */
  zones: readonly string[];
}

/** What to do next for one group. */
export type MachineAction =
  | { kind: "converged" }
  | { kind: "wait" }
  | { kind: "finish"; operation: MachineOperation }
  | { kind: "begin"; operation: Omit<MachineOperation, "since"> };

/**
 * The next machine change of a group: finish the change under way once it has taken {@link MACHINE_MS}
 * (else wait), or begin the next one — remove a surplus machine (an outdated one first, newest first),
 * upgrade the oldest outdated machine, create a missing one — or report the group converged.
 */
export function nextMachineAction(group: MachineGroup, now: Date, naming: NewMachine): MachineAction {
  const op = group.operation;
  if (op !== null) {
    return now.getTime() - Date.parse(op.since) >= MACHINE_MS ? { kind: "finish", operation: op } : { kind: "wait" };
  }
  const want = vVersion(group.version);
  const byAge = [...group.machines].sort((a, b) => compare(a.created, b.created) || compare(a.name, b.name));
  const outdated = byAge.filter((m) => vVersion(m.version) !== want);
  if (byAge.length > group.replicas) {
    const victim = outdated.at(-1) ?? byAge.at(-1);
    if (victim) return { kind: "begin", operation: { change: "delete", machine: victim.name, from: vVersion(victim.version), to: null, zone: victim.zone } };
  }
  const oldest = outdated[0];
  if (oldest) return { kind: "begin", operation: { change: "upgrade", machine: oldest.name, from: vVersion(oldest.version), to: want, zone: oldest.zone } };
  if (byAge.length < group.replicas) {
    return { kind: "begin", operation: { change: "create", machine: newMachineName(naming), from: null, to: want, zone: leastUsedZone(naming.zones, group.machines) } };
  }
  return { kind: "converged" };
}

/** The replica counts and version a group's status reports. */
export interface MachineCounts {
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  unavailableReplicas: number;
  /** The oldest machine's version (`vX.Y.Z`), null without machines. */
  version: string | null;
}

/**
 * What a group's status says: a machine being created counts (updated, not ready), one being upgraded or
 * deleted counts but is not ready, and one being upgraded is not updated either.
 */
export function machineCounts(group: MachineGroup): MachineCounts {
  const want = vVersion(group.version);
  const op = group.operation;
  const machines = group.machines.map((m) => ({ name: m.name, version: vVersion(m.version), busy: op?.machine === m.name }));
  if (op?.change === "create" && !machines.some((m) => m.name === op.machine)) {
    machines.push({ name: op.machine, version: vVersion(op.to ?? want), busy: true });
  }
  const updated = machines.filter((m) => m.version === want && !(m.busy && op?.change === "upgrade")).length;
  const ready = machines.filter((m) => !m.busy).length;
  const versions = machines.map((m) => m.version.slice(1)).filter((v) => semver.valid(v) !== null);
  const oldest = versions.sort(semver.compare)[0];
  return {
    replicas: machines.length,
    updatedReplicas: updated,
    readyReplicas: ready,
    unavailableReplicas: machines.length - ready,
    version: oldest === undefined ? null : `v${oldest}`,
  };
}

/** What {@link needsReconcile} reads of a KubeadmControlPlane or MachineDeployment. */
export interface ReconcileView {
  generation: number | undefined;
  specReplicas: number;
  /** The KubeadmControlPlane's `spec.version`; undefined for a MachineDeployment (its status has no version). */
  specVersion?: string | undefined;
  status: {
    observedGeneration?: number | undefined;
    version?: string | undefined;
    replicas?: number | undefined;
    updatedReplicas?: number | undefined;
    readyReplicas?: number | undefined;
  };
  /** Whether a machine change is under way. */
  operation: boolean;
}

/**
 * Whether an object needs the controller: a change under way, a spec its status has not caught up with
 * (generation, version or replica counts). A seeded, converged object does not, whatever its machines.
 */
export function needsReconcile(view: ReconcileView): boolean {
  if (view.operation) return true;
  const { status } = view;
  if (view.generation !== undefined && status.observedGeneration !== view.generation) return true;
  if (view.specVersion !== undefined && vVersion(status.version ?? "") !== vVersion(view.specVersion)) return true;
  return [status.replicas, status.updatedReplicas, status.readyReplicas].some((n) => (n ?? 0) !== view.specReplicas);
}

/** Which machines (Nodes) belong to a KubeadmControlPlane, or to a MachineDeployment of a Cluster. */
export type MachineOwner = { kind: typeof KCP } | { kind: typeof MD; name: string; cluster: string };

/** The machines of `owner` among the workload cluster's Nodes, by the rules in the module comment. */
export function machinesOf(nodes: readonly k8s.V1Node[], owner: MachineOwner): Machine[] {
  return nodes
    .filter((node) => {
      const labels = node.metadata?.labels ?? {};
      const controlPlane = labels[CONTROL_PLANE_LABEL] !== undefined;
      if (owner.kind === KCP) return controlPlane;
      if (controlPlane) return false;
      const deployment = labels[DEPLOYMENT_NAME_LABEL];
      return deployment === undefined ? owner.name === `${owner.cluster}-md-0` : deployment === owner.name;
    })
    .map((node) => ({
      name: node.metadata?.name ?? "",
      version: vVersion(node.status?.nodeInfo?.kubeletVersion ?? ""),
      created: toTimestamp(node.metadata?.creationTimestamp),
      zone: node.metadata?.labels?.[ZONE_LABEL] ?? null,
    }));
}

/** One finished machine change, as recorded in {@link CHANGES_CONFIGMAP}. */
export interface ClusterAPIChange {
  seq: number;
  /** `Kind/namespace/name` of the KubeadmControlPlane or MachineDeployment. */
  object: string;
  /** The sandbox cluster the machine is a Node of. */
  workload: string;
  change: MachineChangeKind;
  machine: string;
  from: string | null;
  to: string | null;
  /** When the change finished (RFC 3339). */
  at: string;
  /** Identifies the change (object, machine, start): a change is recorded once, even when finished twice. */
  operation: string;
}

/** Reads the machine changes recorded in `namespace` of a management cluster, oldest first. */
export async function readClusterAPIChanges(core: k8s.CoreV1Api, namespace: string): Promise<ClusterAPIChange[]> {
  try {
    const cm = await core.readNamespacedConfigMap({ name: CHANGES_CONFIGMAP, namespace });
    return Object.entries(cm.data ?? {})
      .sort(([a], [b]) => compare(a, b))
      .map(([, value]) => JSON.parse(value) as ClusterAPIChange);
  } catch (error) {
    if (httpStatus(error) === 404) return [];
    throw error;
  }
}

/**
 * Marks the seeded `Cluster` of a sandbox cluster managed through Cluster API with the sandbox cluster that
 * is its workload cluster ({@link WORKLOAD_CLUSTER_ANNOTATION}), so the controller knows whose Nodes are
 * its machines. `management` is a client of the management cluster.
 */
export async function linkWorkloadCluster(management: KubeRest, seed: SeedCluster): Promise<void> {
  const ref = seed.clusterAPI;
  if (!ref) return;
  const path = `${collection(CLUSTER_GROUP, ref.namespace, "clusters")}/${encodeURIComponent(ref.name)}`;
  const response = await mergePatch(management, path, { metadata: { annotations: { [WORKLOAD_CLUSTER_ANNOTATION]: seed.name } } });
  if (response.status < 200 || response.status >= 300) {
    throw new BosunError(`seeding ${identity({ cluster: management.cluster, group: CLUSTER_GROUP, kind: "Cluster", namespace: ref.namespace, name: ref.name })}: marking its workload cluster failed: HTTP ${response.status}`, {
      reason: "SandboxStartFailed",
    });
  }
}

/** The controller: one per agent, reconciling every cluster the agent watches. */
export interface ClusterAPIController {
  /** One pass over `cluster` (a no-op unless it serves Cluster API); `clients` are its API clients. */
  reconcile(cluster: string, clients: KubeClients, log: (line: string) => void): Promise<void>;
}

/**
 * Creates the controller. `clientsOf` gives the API clients of another sandbox cluster by name (the
 * workload clusters), undefined for a cluster the agent does not watch.
 */
export function clusterAPIController(clientsOf: (cluster: string) => KubeClients | undefined): ClusterAPIController {
  return new Controller(clientsOf);
}

/** A KubeadmControlPlane or MachineDeployment as listed. */
interface CapiObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string }[];
  };
  spec?: {
    version?: string;
    replicas?: number;
    clusterName?: string;
    template?: { spec?: { version?: string } };
  };
  status?: Record<string, unknown> & ReconcileView["status"] & { conditions?: Condition[] };
}

/** A Cluster API condition (v1beta1). */
interface Condition {
  type: string;
  status: "True" | "False";
  severity?: string;
  reason?: string;
  lastTransitionTime?: string;
}

/** One object to reconcile, with what differs between the two kinds. */
interface Target {
  kind: typeof KCP | typeof MD;
  object: CapiObject;
  namespace: string;
  name: string;
  /** Its Cluster's name. */
  cluster: string;
  path: string;
  version: string;
  replicas: number;
}

class Controller implements ClusterAPIController {
  private readonly rests = new Map<string, KubeRest>();
  private readonly served = new Map<string, { served: boolean; at: number }>();
  private readonly warned = new Set<string>();

  constructor(private readonly clientsOf: (cluster: string) => KubeClients | undefined) {}

  async reconcile(cluster: string, clients: KubeClients, log: (line: string) => void): Promise<void> {
    const rest = this.restOf(cluster, clients);
    if (!(await this.servesClusterAPI(cluster, rest))) return;
    const [kcps, mds] = await Promise.all([
      rest.list<CapiObject>(`/apis/${CONTROL_PLANE_GROUP}/${CAPI_VERSION}/kubeadmcontrolplanes`),
      rest.list<CapiObject>(`/apis/${CLUSTER_GROUP}/${CAPI_VERSION}/machinedeployments`),
    ]);
    const targets = [...kcps.map((o) => targetOf(KCP, o)), ...mds.map((o) => targetOf(MD, o))];
    for (const target of targets) {
      if (semver.valid(target.version.slice(1)) === null) {
        this.warnOnce(log, targetIdentity(cluster, target), `${targetIdentity(cluster, target)} has no valid version (${JSON.stringify(target.version)}); left alone`);
        continue;
      }
      const operation = readOperation(target.object);
      const view: ReconcileView = {
        generation: target.object.metadata?.generation,
        specReplicas: target.replicas,
        ...(target.kind === KCP ? { specVersion: target.version } : {}),
        status: target.object.status ?? {},
        operation: operation !== null,
      };
      if (!needsReconcile(view)) continue;
      // One object's trouble (its workload cluster is down, a conflict) must not stall the others.
      try {
        await this.reconcileTarget(cluster, clients, rest, target, operation, log);
      } catch (error) {
        log(`${targetIdentity(cluster, target)}: ${firstLine(error)} (will retry)`);
      }
    }
  }

  private async reconcileTarget(
    management: string,
    clients: KubeClients,
    rest: KubeRest,
    target: Target,
    initial: MachineOperation | null,
    log: (line: string) => void,
  ): Promise<void> {
    const id = `${target.kind}/${target.namespace}/${target.name}`;
    const workloadName = await this.workloadOf(rest, target);
    const workload = workloadName === undefined ? undefined : this.clientsOf(workloadName);
    if (workloadName === undefined || workload === undefined) {
      this.warnOnce(log, `${management}/${id}`, `${targetIdentity(management, target)}: its Cluster ${target.cluster} names no sandbox workload cluster the agent watches (annotation ${WORKLOAD_CLUSTER_ANNOTATION}); left alone`);
      return;
    }
    const owner: MachineOwner = target.kind === KCP ? { kind: KCP } : { kind: MD, name: target.name, cluster: target.cluster };
    let nodes = (await workload.core.listNode()).items;
    let operation = initial;
    const group = (): MachineGroup => ({ version: target.version, replicas: target.replicas, machines: machinesOf(nodes, owner), operation });
    const now = new Date();
    let action = nextMachineAction(group(), now, naming(workloadName, target, nodes));
    if (action.kind === "finish") {
      const done = action.operation;
      await this.finish(workloadName, workload, target, done);
      await appendChange(clients.core, target.namespace, {
        object: id,
        workload: workloadName,
        change: done.change,
        machine: done.machine,
        from: done.from,
        to: done.to,
        at: new Date().toISOString(),
        operation: `${id}/${done.change}/${done.machine}/${done.since}`,
      });
      await mergePatch(rest, target.path, { metadata: { annotations: { [OPERATION_ANNOTATION]: null } } }).then(expectOk(id, "clearing its machine operation"));
      log(`${management}: ${id}: machine ${done.machine} ${describeDone(done)}`);
      operation = null;
      nodes = (await workload.core.listNode()).items;
      action = nextMachineAction(group(), now, naming(workloadName, target, nodes));
    }
    if (action.kind === "begin") {
      operation = { ...action.operation, since: now.toISOString() };
      await mergePatch(rest, target.path, { metadata: { annotations: { [OPERATION_ANNOTATION]: JSON.stringify(operation) } } }).then(
        expectOk(id, "recording its machine operation"),
      );
      log(`${management}: ${id}: machine ${operation.machine} ${describeBegin(operation)}`);
    }
    await this.writeStatus(rest, target, group(), id);
  }

  /** Does on the workload cluster what the machine change does: a Node's versions, a new or removed Node. */
  private async finish(workloadName: string, workload: KubeClients, target: Target, op: MachineOperation): Promise<void> {
    const { core } = workload;
    const controlPlane = target.kind === KCP;
    if (op.change === "upgrade" && op.to !== null) {
      const version = op.to.slice(1);
      await retryOnConflict(async () => {
        const node = await core.readNodeStatus({ name: op.machine });
        if (!node.status?.nodeInfo) return;
        node.status.nodeInfo.kubeletVersion = `v${version}`;
        node.status.nodeInfo.kubeProxyVersion = `v${version}`;
        await core.replaceNodeStatus({ name: op.machine, body: node });
      });
      if (controlPlane) for (const component of CONTROL_PLANE_COMPONENTS) await setStaticPodImage(core, component, op.machine, version);
    } else if (op.change === "create" && op.to !== null) {
      await seedCluster(workload.kc, {
        name: workloadName,
        kubernetesVersion: op.to.slice(1),
        controlPlaneEndpoint: `${workloadName}.sandbox.internal:6443`,
        nodes: [{ name: op.machine, role: controlPlane ? "control-plane" : "worker", ...(op.zone === null ? {} : { zone: op.zone }) }],
      });
      if (!controlPlane) {
        const labels = { [DEPLOYMENT_NAME_LABEL]: target.name, [CLUSTER_NAME_LABEL]: target.cluster };
        await mergePatch(this.restOf(workloadName, workload), `/api/v1/nodes/${encodeURIComponent(op.machine)}`, { metadata: { labels } }).then(
          expectOk(`Node/${op.machine}`, "labelling it"),
        );
      }
    } else if (op.change === "delete") {
      if (controlPlane) {
        for (const component of CONTROL_PLANE_COMPONENTS) {
          await ignoreNotFound(core.deleteNamespacedPod({ name: `${component}-${op.machine}`, namespace: "kube-system" }));
        }
      }
      await ignoreNotFound(core.deleteNode({ name: op.machine }));
    }
  }

  /** Writes the status the machines show, unless the object already shows it. */
  private async writeStatus(rest: KubeRest, target: Target, group: MachineGroup, id: string): Promise<void> {
    const counts = machineCounts(group);
    const previous = target.object.status ?? {};
    const generation = target.object.metadata?.generation;
    const scaling = counts.replicas < target.replicas ? "ScalingUp" : counts.replicas > target.replicas ? "ScalingDown" : undefined;
    const fields: Record<string, unknown> =
      target.kind === KCP
        ? {
            ...(counts.version === null ? {} : { version: counts.version }),
            replicas: counts.replicas,
            updatedReplicas: counts.updatedReplicas,
            readyReplicas: counts.readyReplicas,
            unavailableReplicas: counts.unavailableReplicas,
            ready: counts.readyReplicas > 0,
            initialized: true,
            ...(generation === undefined ? {} : { observedGeneration: generation }),
          }
        : {
            phase: scaling ?? "Running",
            replicas: counts.replicas,
            updatedReplicas: counts.updatedReplicas,
            readyReplicas: counts.readyReplicas,
            availableReplicas: counts.readyReplicas,
            unavailableReplicas: counts.unavailableReplicas,
            ...(generation === undefined ? {} : { observedGeneration: generation }),
          };
    const upToDate = counts.updatedReplicas === counts.replicas;
    const allReady = counts.readyReplicas === counts.replicas;
    const wanted: Omit<Condition, "lastTransitionTime">[] =
      target.kind === KCP
        ? [
            condition("MachinesSpecUpToDate", upToDate, "RollingUpdateInProgress"),
            condition("Resized", scaling === undefined, scaling ?? ""),
            condition("MachinesReady", allReady, "MachinesNotReady"),
          ]
        : [condition("Available", allReady, "WaitingForAvailableMachines")];
    const ready = wanted.every((c) => c.status === "True") && scaling === undefined;
    wanted.unshift(condition("Ready", ready, wanted.find((c) => c.status === "False")?.reason ?? scaling ?? ""));
    const conditions = withTransitions(wanted, previous.conditions ?? [], new Date().toISOString());
    const unchanged =
      Object.entries(fields).every(([key, value]) => previous[key] === value) &&
      JSON.stringify(conditions.map(({ type, status, reason }) => [type, status, reason])) ===
        JSON.stringify((previous.conditions ?? []).map(({ type, status, reason }) => [type, status, reason]));
    if (unchanged) return;
    await mergePatch(rest, `${target.path}/status`, { status: { ...fields, conditions } }).then(expectOk(id, "writing its status"));
  }

  /** The sandbox cluster named by the annotation of the target's Cluster, if any. */
  private async workloadOf(rest: KubeRest, target: Target): Promise<string | undefined> {
    const cluster = await rest.get<{ metadata?: { annotations?: Record<string, string> } }>(
      `${collection(CLUSTER_GROUP, target.namespace, "clusters")}/${encodeURIComponent(target.cluster)}`,
    );
    return cluster?.metadata?.annotations?.[WORKLOAD_CLUSTER_ANNOTATION];
  }

  /** Logs a problem that will not go away by itself once, not on every tick. */
  private warnOnce(log: (line: string) => void, key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    log(line);
  }

  private restOf(cluster: string, clients: KubeClients): KubeRest {
    let rest = this.rests.get(cluster);
    if (!rest) {
      rest = new KubeRest(clients.kc, { cluster, timeoutMs: 5_000 });
      this.rests.set(cluster, rest);
    }
    return rest;
  }

  /** Whether the cluster serves KubeadmControlPlanes; a "no" is asked again every {@link DISCOVERY_RETRY_MS}. */
  private async servesClusterAPI(cluster: string, rest: KubeRest): Promise<boolean> {
    const known = this.served.get(cluster);
    if (known && (known.served || Date.now() - known.at < DISCOVERY_RETRY_MS)) return known.served;
    const served = (await rest.get(`/apis/${CONTROL_PLANE_GROUP}/${CAPI_VERSION}`)) !== null;
    this.served.set(cluster, { served, at: Date.now() });
    return served;
  }
}

function targetOf(kind: typeof KCP | typeof MD, object: CapiObject): Target {
  const namespace = object.metadata?.namespace ?? "default";
  const name = object.metadata?.name ?? "";
  const owner = object.metadata?.ownerReferences?.find((o) => o.kind === "Cluster")?.name;
  const cluster = kind === KCP ? (object.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? owner ?? "") : (object.spec?.clusterName ?? object.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? "");
  const group = kind === KCP ? CONTROL_PLANE_GROUP : CLUSTER_GROUP;
  const plural = kind === KCP ? "kubeadmcontrolplanes" : "machinedeployments";
  return {
    kind,
    object,
    namespace,
    name,
    cluster,
    path: `${collection(group, namespace, plural)}/${encodeURIComponent(name)}`,
    version: vVersion((kind === KCP ? object.spec?.version : object.spec?.template?.spec?.version) ?? ""),
    replicas: object.spec?.replicas ?? 1,
  };
}

/** The operation in the object's annotation; null without one, or when it does not parse (it is then redone). */
function readOperation(object: CapiObject): MachineOperation | null {
  const text = object.metadata?.annotations?.[OPERATION_ANNOTATION];
  if (!text) return null;
  try {
    const op = JSON.parse(text) as Partial<MachineOperation>;
    if ((op.change === "create" || op.change === "upgrade" || op.change === "delete") && typeof op.machine === "string" && typeof op.since === "string") {
      return { change: op.change, machine: op.machine, from: op.from ?? null, to: op.to ?? null, zone: op.zone ?? null, since: op.since };
    }
  } catch {
    // written by hand or cut short: treated as no operation
  }
  return null;
}

function naming(workload: string, target: Target, nodes: readonly k8s.V1Node[]): NewMachine {
  const zones = new Set<string>();
  for (const node of nodes) {
    const zone = node.metadata?.labels?.[ZONE_LABEL];
    if (zone) zones.add(zone);
  }
  return {
    prefix: target.kind === KCP ? `${workload}-cp` : `${workload}-${target.name}`,
    taken: nodes.map((n) => n.metadata?.name ?? ""),
    zones: [...zones].sort(compare),
  };
}

function newMachineName(naming: NewMachine): string {
  const taken = new Set(naming.taken);
  for (let n = 1; ; n += 1) {
    const name = `${naming.prefix}-${n}`;
    if (!taken.has(name)) return name;
  }
}

function leastUsedZone(zones: readonly string[], machines: readonly Machine[]): string | null {
  let best: { zone: string; count: number } | undefined;
  for (const zone of zones) {
    const count = machines.filter((m) => m.zone === zone).length;
    if (best === undefined || count < best.count) best = { zone, count };
  }
  return best?.zone ?? null;
}

function condition(type: string, ok: boolean, reason: string): Omit<Condition, "lastTransitionTime"> {
  return ok ? { type, status: "True" } : { type, status: "False", severity: "Warning", reason };
}

/** Conditions with `lastTransitionTime` kept from `previous` where the status did not flip. */
function withTransitions(conditions: readonly Omit<Condition, "lastTransitionTime">[], previous: readonly Condition[], now: string): Condition[] {
  return conditions.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before?.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now };
  });
}

/** Appends a record unless one with the same `operation` exists; compare-and-swap on the ConfigMap. */
async function appendChange(core: k8s.CoreV1Api, namespace: string, record: Omit<ClusterAPIChange, "seq">): Promise<void> {
  await createIfAbsent(() => core.createNamespacedConfigMap({ namespace, body: { metadata: { name: CHANGES_CONFIGMAP, namespace }, data: {} } }));
  for (;;) {
    const cm = await core.readNamespacedConfigMap({ name: CHANGES_CONFIGMAP, namespace });
    const data = cm.data ?? {};
    if (Object.values(data).some((value) => (JSON.parse(value) as ClusterAPIChange).operation === record.operation)) return;
    const seq = Object.keys(data).length + 1;
    cm.data = { ...data, [String(seq).padStart(6, "0")]: JSON.stringify({ seq, ...record }) };
    try {
      // resourceVersion in the body makes this a compare-and-swap; a conflict re-reads and retries.
      await core.replaceNamespacedConfigMap({ name: CHANGES_CONFIGMAP, namespace, body: cm });
      return;
    } catch (error) {
      if (httpStatus(error) !== 409) throw error;
    }
  }
}


async function mergePatch(rest: KubeRest, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return rest.send({ method: "PATCH", path, query: { fieldManager: FIELD_MANAGER }, body: JSON.stringify(body), contentType: "application/merge-patch+json" });
}

function expectOk(id: string, doing: string): (response: { status: number; body: string }) => void {
  return (response) => {
    if (response.status >= 200 && response.status < 300) return;
    throw new BosunError(`${id}: ${doing} failed: HTTP ${response.status}: ${response.body.slice(0, 200)}`, { reason: "KubeApi" });
  };
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
  }
}

function collection(group: string, namespace: string, plural: string): string {
  return `/apis/${group}/${CAPI_VERSION}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

function describeBegin(op: MachineOperation): string {
  switch (op.change) {
    case "create":
      return `being created at ${op.to ?? "?"}${op.zone === null ? "" : ` in ${op.zone}`}`;
    case "upgrade":
      return `upgrading ${op.from ?? "?"} → ${op.to ?? "?"}`;
    case "delete":
      return "being deleted";
  }
}

function describeDone(op: MachineOperation): string {
  switch (op.change) {
    case "create":
      return `created at ${op.to ?? "?"}`;
    case "upgrade":
      return `upgraded ${op.from ?? "?"} → ${op.to ?? "?"}`;
    case "delete":
      return "deleted";
  }
}

/** `1.34.2` or `v1.34.2` → `v1.34.2`; empty stays empty. */
function vVersion(version: string): string {
  if (version === "") return "";
  return version.startsWith("v") ? version : `v${version}`;
}

function toTimestamp(value: Date | string | undefined): string {
  if (value === undefined) return "";
  return value instanceof Date ? value.toISOString() : value;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "error";
}

/** A reconciled object's identity for the agent's log lines. */
function targetIdentity(management: string, target: Target): string {
  return identity({ cluster: management, group: target.kind === KCP ? CONTROL_PLANE_GROUP : CLUSTER_GROUP, kind: target.kind, namespace: target.namespace, name: target.name });
}
