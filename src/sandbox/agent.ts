/**
 * The sandbox node agent: the one simulated part of the sandbox. It stands in for kubeadm and the kubelet
 * on every sandbox node, for bosun's node-upgrade Jobs only:
 *
 * - it plays the kubelet for Pods labelled `bosun.dev/node-upgrade` (kwok leaves them alone): Pending →
 *   Running → Succeeded, or Failed when the Node is annotated `sandbox.bosun.dev/fail-upgrade=true`;
 * - when such a Job completes, it does what the upgrade would have done on the node: the Node's
 *   `kubeletVersion`, its static pods' images and (for a control-plane node) `kubeadm-config`'s
 *   `kubernetesVersion` move to the Job's `bosun.dev/target-version`, and a record is appended to
 *   `kube-system/sandbox-node-upgrades`.
 *
 * Jobs need kube-controller-manager, so upgrades are simulated in `--mode full` only. Every change goes
 * through the real API server, exactly like bosun's own requests.
 */
import type * as k8s from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import semver from "semver";
import { clientsFor, loadKubeConfig, type KubeClients } from "../kube/config.js";
import { createIfAbsent, httpStatus } from "../kube/errors.js";
import { CONTROL_PLANE_COMPONENTS, componentImage } from "./images.js";
import { CONTROL_PLANE_LABEL } from "./seed.js";

/** Label on an upgrade Job (and its Pod template) naming the node it upgrades. */
export const NODE_UPGRADE_LABEL = "bosun.dev/node-upgrade";
/** Label on an upgrade Job naming the version it installs, `vX.Y.Z`. */
export const TARGET_VERSION_LABEL = "bosun.dev/target-version";
/** Node annotation that makes the node's next upgrade Job fail. */
export const FAIL_UPGRADE_ANNOTATION = "sandbox.bosun.dev/fail-upgrade";
/** Job annotation the agent sets once it has applied the Job's upgrade to the node. */
export const APPLIED_ANNOTATION = "sandbox.bosun.dev/upgrade-applied";
/** ConfigMap in kube-system with one record per applied node upgrade. */
export const RECORDS_CONFIGMAP = "sandbox-node-upgrades";

/** One applied upgrade, as stored in the records ConfigMap. */
export interface UpgradeRecord {
  seq: number;
  node: string;
  role: "control-plane" | "worker";
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
  log(`agent watching ${clusters.join(", ")}`);
  while (!signal.aborted) {
    // Clusters are handled concurrently and each failure is contained: one stopped or hung API server
    // (a test may stop one mid-upgrade) never stops or slows the agent for the others.
    await Promise.all(
      targets.map(async (target) => {
        try {
          await withTimeout(tick(target.name, target.clients, log), 10_000);
        } catch (error) {
          log(`${target.name}: ${firstLine(error)} (will retry)`);
        }
      }),
    );
    await sleep(500, signal);
  }
}

async function tick(cluster: string, clients: KubeClients, log: Log): Promise<void> {
  await drivePods(cluster, clients, log);
  await applyCompletedJobs(cluster, clients, log);
}

async function drivePods(cluster: string, clients: KubeClients, log: Log): Promise<void> {
  const pods = await clients.core.listPodForAllNamespaces({ labelSelector: NODE_UPGRADE_LABEL });
  for (const pod of pods.items) {
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
    const fail = node === undefined || node.metadata?.annotations?.[FAIL_UPGRADE_ANNOTATION] === "true";
    await setPodPhase(clients.core, pod, fail ? "Failed" : "Succeeded", fail ? 1 : 0);
    log(`${cluster}: upgrade pod ${pod.metadata?.name ?? ""} on ${nodeName} ${node === undefined ? "failed (no such node)" : fail ? "failed (node marked to fail)" : "succeeded"}`);
  }
}

async function setPodPhase(core: k8s.CoreV1Api, pod: k8s.V1Pod, phase: "Running" | "Succeeded" | "Failed", exitCode: number): Promise<void> {
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
              message: exitCode === 0 ? undefined : "sandbox: node is annotated sandbox.bosun.dev/fail-upgrade=true",
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
  const record = await upgradeNode(clients, nodeName, target, job.metadata?.name ?? "", job.metadata?.uid ?? "");
  await markApplied(clients.batch, job, "true");
  log(`${cluster}: node ${nodeName} upgraded ${record.from} → ${record.to} (job ${record.job})`);
}

async function upgradeNode(clients: KubeClients, nodeName: string, version: string, job: string, jobUid: string): Promise<UpgradeRecord> {
  const { core } = clients;
  const node = await core.readNodeStatus({ name: nodeName });
  const from = node.status?.nodeInfo?.kubeletVersion ?? "unknown";
  const controlPlane = node.metadata?.labels?.[CONTROL_PLANE_LABEL] !== undefined;
  if (node.status?.nodeInfo) {
    node.status.nodeInfo.kubeletVersion = `v${version}`;
    node.status.nodeInfo.kubeProxyVersion = `v${version}`;
  }
  await core.replaceNodeStatus({ name: nodeName, body: node });
  if (controlPlane) {
    for (const component of CONTROL_PLANE_COMPONENTS) await setStaticPodImage(core, component, nodeName, version);
    // The first control-plane node runs `kubeadm upgrade apply`, which records the new version.
    await raiseKubeadmVersion(core, version);
  }
  return appendRecord(core, {
    node: nodeName,
    role: controlPlane ? "control-plane" : "worker",
    job,
    jobUid,
    from,
    to: `v${version}`,
    at: new Date().toISOString(),
  });
}

async function setStaticPodImage(core: k8s.CoreV1Api, component: (typeof CONTROL_PLANE_COMPONENTS)[number], nodeName: string, version: string): Promise<void> {
  const name = `${component}-${nodeName}`;
  let pod: k8s.V1Pod;
  try {
    pod = await core.readNamespacedPod({ name, namespace: "kube-system" });
  } catch (error) {
    if (httpStatus(error) === 404) return;
    throw error;
  }
  const image = componentImage(component, version);
  const container = pod.spec?.containers[0];
  if (container && container.image !== image) {
    container.image = image;
    pod = await core.replaceNamespacedPod({ name, namespace: "kube-system", body: pod });
  }
  const status = pod.status?.containerStatuses?.[0];
  if (status && status.image !== image) {
    status.image = image;
    await core.replaceNamespacedPodStatus({ name, namespace: "kube-system", body: pod });
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

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
