/**
 * The sandbox node agent: the one simulated part of the sandbox. It stands in for kubeadm and the kubelet
 * on every sandbox node, for bosun's node-upgrade Jobs only:
 *
 * - it plays the kubelet for Pods labelled `bosun.dev/node-upgrade` (kwok leaves them alone): Pending →
 *   Running → Succeeded, or Failed when the Node is annotated `sandbox.bosun.dev/fail-upgrade=true`;
 * - when such a Job completes, it does what the upgrade would have done on the node, by the Job's
 *   `bosun.dev/upgrade-phase`: `control-plane` moves the node's static pods' images and `kubeadm-config`'s
 *   `kubernetesVersion` to the Job's `bosun.dev/target-version`, `kubelet` moves the Node's
 *   `kubeletVersion`, no phase moves both; a record is appended to `kube-system/sandbox-node-upgrades`;
 * - it plays the kubelet for pre-upgrade etcd snapshot pods (`bosun.dev/snapshot`) too, failing them on
 *   a node annotated `sandbox.bosun.dev/fail-snapshot=true`, and on success reports the snapshot file in
 *   the container's termination message as the backup script does.
 *
 * Jobs need kube-controller-manager, so upgrades are simulated in `--mode full` only. Every change goes
 * through the real API server, exactly like bosun's own requests.
 */
import type * as k8s from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import semver from "semver";
import { clientsFor, loadKubeConfig, type KubeClients } from "../kube/config.js";
import { createIfAbsent, httpStatus } from "../kube/errors.js";
import { abortableSleep } from "../kube/retry.js";
import { NODE_UPGRADE_LABEL, SNAPSHOT_LABEL, TARGET_VERSION_LABEL, UPGRADE_PHASE_LABEL } from "../constants.js";
import { clusterAPIController, type ClusterAPIController } from "./capi-controller.js";
import { CONTROL_PLANE_COMPONENTS } from "./images.js";
import { CONTROL_PLANE_LABEL } from "./seed.js";
import { setStaticPodImage } from "./static-pods.js";

/** Node annotation that makes the node's next upgrade Job fail. */
export const FAIL_UPGRADE_ANNOTATION = "sandbox.bosun.dev/fail-upgrade";
/** Job annotation the agent sets once it has applied the Job's upgrade to the node. */
export const APPLIED_ANNOTATION = "sandbox.bosun.dev/upgrade-applied";
/** ConfigMap in kube-system with one record per applied node upgrade. */
export const RECORDS_CONFIGMAP = "sandbox-node-upgrades";
/** Node annotation that makes every snapshot pod that runs on the node fail. */
export const FAIL_SNAPSHOT_ANNOTATION = "sandbox.bosun.dev/fail-snapshot";

/** One applied upgrade, as stored in the records ConfigMap. */
export interface UpgradeRecord {
  seq: number;
  node: string;
  role: "control-plane" | "worker";
  /** What the Job upgraded (see {@link UPGRADE_PHASE_LABEL}); `all` for a Job without the label. */
  phase: "control-plane" | "kubelet" | "all";
  job: string;
  /** The Job's uid: a record is written once per Job, even if marking the Job applied failed. */
  jobUid: string;
  from: string;
  to: string;
  at: string;
}

/** How long an upgrade Pod stays Running before it finishes. */
const RUN_MS = 1_000;

type Log = (line: string) => void;

/** Runs the agent for the given clusters until `signal` aborts. */
export async function runAgent(kubeconfig: string, clusters: readonly string[], signal: AbortSignal, log: Log): Promise<void> {
  const targets = clusters.map((name) => ({ name, clients: clientsFor(loadKubeConfig(kubeconfig, name)) }));
  // Plays Cluster API in management clusters; it reaches each workload cluster through that cluster's clients.
  const capi = clusterAPIController((name) => targets.find((t) => t.name === name)?.clients);
  log(`agent watching ${clusters.join(", ")}`);
  while (!signal.aborted) {
    // Clusters are handled concurrently and each failure is contained: one stopped or hung API server
    // (a test may stop one mid-upgrade) never stops or slows the agent for the others.
    await Promise.all(
      targets.map(async (target) => {
        try {
          await withTimeout(tick(target.name, target.clients, log, capi), 10_000);
        } catch (error) {
          log(`${target.name}: ${firstLine(error)} (will retry)`);
        }
      }),
    );
    await abortableSleep(500, signal);
  }
}

async function tick(cluster: string, clients: KubeClients, log: Log, capi: ClusterAPIController): Promise<void> {
  await drivePods(cluster, clients, log);
  await applyCompletedJobs(cluster, clients, log);
  await reviveStaticPods(cluster, clients, log);
  await capi.reconcile(cluster, clients, log);
}

/**
 * Plays the kubelet for static (mirror) pods: when the node lifecycle controller marked them not Ready
 * (their node's heartbeat went stale, say while the API server restarted) and the node is Ready again, a
 * kubelet would report its running static pods Ready once more; kwok does not, so the agent does.
 */
async function reviveStaticPods(cluster: string, clients: KubeClients, log: Log): Promise<void> {
  const [pods, nodes] = await Promise.all([
    clients.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "tier=control-plane" }),
    clients.core.listNode(),
  ]);
  const ready = new Set(
    nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata?.name ?? ""),
  );
  for (const pod of pods.items) {
    const conditions = pod.status?.conditions ?? [];
    const podReady = conditions.some((c) => c.type === "Ready" && c.status === "True");
    if (podReady || pod.status?.phase !== "Running" || !ready.has(pod.spec?.nodeName ?? "") || pod.metadata?.deletionTimestamp) continue;
    const now = new Date();
    const status = pod.status;
    status.conditions = [
      ...conditions.filter((c) => c.type !== "Ready" && c.type !== "ContainersReady"),
      { type: "ContainersReady", status: "True", lastTransitionTime: now },
      { type: "Ready", status: "True", lastTransitionTime: now },
    ];
    for (const container of status.containerStatuses ?? []) container.ready = true;
    try {
      await clients.core.replaceNamespacedPodStatus({ name: pod.metadata?.name ?? "", namespace: "kube-system", body: pod });
      log(`${cluster}: static pod ${pod.metadata?.name ?? ""} Ready again`);
    } catch (error) {
      log(`${cluster}: static pod ${pod.metadata?.name ?? ""}: ${firstLine(error)}`);
    }
  }
}

async function drivePods(cluster: string, clients: KubeClients, log: Log): Promise<void> {
  const [upgrades, snapshots] = await Promise.all([
    clients.core.listPodForAllNamespaces({ labelSelector: NODE_UPGRADE_LABEL }),
    clients.core.listPodForAllNamespaces({ labelSelector: SNAPSHOT_LABEL }),
  ]);
  for (const pod of [...upgrades.items, ...snapshots.items]) {
    // One bad item (say, a pod pinned to a node that does not exist) must not stall the others.
    try {
      await drivePod(cluster, clients, pod, log);
    } catch (error) {
      log(`${cluster}: upgrade pod ${pod.metadata?.name ?? ""}: ${firstLine(error)}`);
    }
  }
}

async function drivePod(cluster: string, clients: KubeClients, pod: k8s.V1Pod, log: Log): Promise<void> {
  const nodeName = pod.spec?.nodeName;
  if (!nodeName || pod.metadata?.deletionTimestamp) return;
  const phase = pod.status?.phase ?? "Pending";
  if (phase === "Pending") {
    await setPodPhase(clients.core, pod, "Running", 0);
    log(`${cluster}: upgrade pod ${pod.metadata?.name ?? ""} running on ${nodeName}`);
  } else if (phase === "Running") {
    const started = pod.status?.startTime ? new Date(pod.status.startTime).getTime() : 0;
    if (Date.now() - started < RUN_MS) return;
    const node = await clients.core.readNode({ name: nodeName }).catch((error: unknown) => {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    });
    // A pod pinned to a node that does not exist fails, as it would on a real cluster.
    const snapshot = pod.metadata?.labels?.[SNAPSHOT_LABEL] !== undefined;
    const mark = snapshot ? FAIL_SNAPSHOT_ANNOTATION : FAIL_UPGRADE_ANNOTATION;
    const fail = node === undefined || node.metadata?.annotations?.[mark] === "true";
    const message = fail
      ? `sandbox: node is annotated ${mark}=true`
      : snapshot
        ? `/backup/etcd-snapshot-${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "")}.db`
        : undefined;
    await setPodPhase(clients.core, pod, fail ? "Failed" : "Succeeded", fail ? 1 : 0, message);
    log(`${cluster}: ${snapshot ? "snapshot" : "upgrade"} pod ${pod.metadata?.name ?? ""} on ${nodeName} ${node === undefined ? "failed (no such node)" : fail ? "failed (node marked to fail)" : "succeeded"}`);
  }
}

async function setPodPhase(core: k8s.CoreV1Api, pod: k8s.V1Pod, phase: "Running" | "Succeeded" | "Failed", exitCode: number, message?: string): Promise<void> {
  const now = new Date();
  const running = phase === "Running";
  const containers = pod.spec?.containers ?? [];
  const status: k8s.V1PodStatus = {
    phase,
    hostIP: "127.0.0.1",
    podIP: "127.0.0.1",
    startTime: pod.status?.startTime ?? now,
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: now },
      { type: "Initialized", status: "True", lastTransitionTime: now },
      { type: "ContainersReady", status: running ? "True" : "False", lastTransitionTime: now },
      { type: "Ready", status: running ? "True" : "False", lastTransitionTime: now },
    ],
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      ready: running,
      started: running,
      restartCount: 0,
      state: running
        ? { running: { startedAt: now } }
        : {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? "Completed" : "Error",
              message,
              startedAt: pod.status?.startTime ?? now,
              finishedAt: now,
            },
          },
    })),
  };
  await core.replaceNamespacedPodStatus({
    name: pod.metadata?.name ?? "",
    namespace: pod.metadata?.namespace ?? "",
    body: { ...pod, status },
  });
}

async function applyCompletedJobs(cluster: string, clients: KubeClients, log: Log): Promise<void> {
  const jobs = await clients.batch.listJobForAllNamespaces({ labelSelector: NODE_UPGRADE_LABEL });
  for (const job of jobs.items) {
    try {
      await applyJob(cluster, clients, job, log);
    } catch (error) {
      log(`${cluster}: upgrade job ${job.metadata?.name ?? ""}: ${firstLine(error)}`);
    }
  }
}

async function applyJob(cluster: string, clients: KubeClients, job: k8s.V1Job, log: Log): Promise<void> {
  const labels = job.metadata?.labels ?? {};
  if (job.metadata?.annotations?.[APPLIED_ANNOTATION]) return;
  const complete = job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True");
  if (!complete) return;
  const nodeName = labels[NODE_UPGRADE_LABEL] ?? "";
  const target = semver.valid((labels[TARGET_VERSION_LABEL] ?? "").replace(/^v/, ""));
  if (!nodeName || !target) {
    log(`${cluster}: job ${job.metadata?.name ?? ""} has no valid ${TARGET_VERSION_LABEL} label; ignored`);
    await markApplied(clients.batch, job, "invalid");
    return;
  }
  const label = labels[UPGRADE_PHASE_LABEL];
  const phase = label === "control-plane" || label === "kubelet" ? label : "all";
  const record = await upgradeNode(clients, nodeName, target, phase, job.metadata?.name ?? "", job.metadata?.uid ?? "");
  await markApplied(clients.batch, job, "true");
  log(`${cluster}: node ${nodeName} upgraded ${record.from} → ${record.to} (${phase}, job ${record.job})`);
}

async function upgradeNode(
  clients: KubeClients,
  nodeName: string,
  version: string,
  phase: UpgradeRecord["phase"],
  job: string,
  jobUid: string,
): Promise<UpgradeRecord> {
  const { core } = clients;
  const node = await core.readNodeStatus({ name: nodeName });
  const controlPlane = node.metadata?.labels?.[CONTROL_PLANE_LABEL] !== undefined;
  let from = node.status?.nodeInfo?.kubeletVersion ?? "unknown";
  if (phase !== "control-plane") {
    if (node.status?.nodeInfo) {
      node.status.nodeInfo.kubeletVersion = `v${version}`;
      node.status.nodeInfo.kubeProxyVersion = `v${version}`;
    }
    await core.replaceNodeStatus({ name: nodeName, body: node });
  }
  if (controlPlane && phase !== "kubelet") {
    const before = await staticPodVersion(core, nodeName);
    if (phase === "control-plane" && before) from = before;
    for (const component of CONTROL_PLANE_COMPONENTS) await setStaticPodImage(core, component, nodeName, version);
    // The first control-plane node runs `kubeadm upgrade apply`, which records the new version.
    await raiseKubeadmVersion(core, version);
  }
  return appendRecord(core, {
    node: nodeName,
    role: controlPlane ? "control-plane" : "worker",
    phase,
    job,
    jobUid,
    from,
    to: `v${version}`,
    at: new Date().toISOString(),
  });
}

/** The version of a control-plane node's kube-apiserver static pod, from its image tag. */
async function staticPodVersion(core: k8s.CoreV1Api, nodeName: string): Promise<string | undefined> {
  try {
    const pod = await core.readNamespacedPod({ name: `kube-apiserver-${nodeName}`, namespace: "kube-system" });
    const tag = /:([^:/]+)$/.exec(pod.spec?.containers[0]?.image ?? "")?.[1];
    return tag;
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}

async function raiseKubeadmVersion(core: k8s.CoreV1Api, version: string): Promise<void> {
  const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
  const text = cm.data?.ClusterConfiguration;
  if (!text) return;
  const config = parse(text) as Record<string, unknown>;
  const recorded = typeof config.kubernetesVersion === "string" ? config.kubernetesVersion : "";
  const current = semver.valid(recorded.replace(/^v/, ""));
  if (current && semver.gte(current, version)) return;
  config.kubernetesVersion = `v${version}`;
  cm.data = { ...cm.data, ClusterConfiguration: stringify(config) };
  await core.replaceNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system", body: cm });
}

async function appendRecord(core: k8s.CoreV1Api, record: Omit<UpgradeRecord, "seq">): Promise<UpgradeRecord> {
  await createIfAbsent(() =>
    core.createNamespacedConfigMap({
      namespace: "kube-system",
      body: { metadata: { name: RECORDS_CONFIGMAP, namespace: "kube-system" }, data: {} },
    }),
  );
  for (;;) {
    const cm = await core.readNamespacedConfigMap({ name: RECORDS_CONFIGMAP, namespace: "kube-system" });
    const existing = Object.values(cm.data ?? {})
      .map((value) => JSON.parse(value) as UpgradeRecord)
      .find((r) => r.jobUid === record.jobUid);
    if (existing) return existing;
    const seq = Object.keys(cm.data ?? {}).length + 1;
    const full: UpgradeRecord = { seq, ...record };
    cm.data = { ...cm.data, [String(seq).padStart(6, "0")]: JSON.stringify(full) };
    try {
      // resourceVersion in the body makes this a compare-and-swap; a conflict re-reads and retries.
      await core.replaceNamespacedConfigMap({ name: RECORDS_CONFIGMAP, namespace: "kube-system", body: cm });
      return full;
    } catch (error) {
      if (httpStatus(error) !== 409) throw error;
    }
  }
}

async function markApplied(batch: k8s.BatchV1Api, job: k8s.V1Job, value: string): Promise<void> {
  const metadata = job.metadata ?? {};
  metadata.annotations = { ...metadata.annotations, [APPLIED_ANNOTATION]: value };
  job.metadata = metadata;
  await batch.replaceNamespacedJob({ name: metadata.name ?? "", namespace: metadata.namespace ?? "", body: job });
}

/** Reads the upgrade records of one cluster, oldest first. */
export async function readUpgradeRecords(core: k8s.CoreV1Api): Promise<UpgradeRecord[]> {
  try {
    const cm = await core.readNamespacedConfigMap({ name: RECORDS_CONFIGMAP, namespace: "kube-system" });
    return Object.entries(cm.data ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, value]) => JSON.parse(value) as UpgradeRecord);
  } catch (error) {
    if (httpStatus(error) === 404) return [];
    throw error;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "error";
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
