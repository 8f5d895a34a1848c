/**
 * Helpers for the upgrade tests on the shared sandbox: put a seeded cluster back at one version (so every
 * case starts from the same state), read the agent's records, and replay them against the skew rules.
 */
import fs from "node:fs/promises";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type * as k8s from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { CORDONED_BY_ANNOTATION } from "../../src/constants.js";
import { NODE_UPGRADE_LABEL } from "../../src/constants.js";
import { SNAPSHOT_LABEL } from "../../src/constants.js";
import type { KubeClients } from "../../src/kube/config.js";
import { retryOnConflict } from "../../src/kube/errors.js";
import { checkSkew, type VersionState } from "../../src/plan/skew.js";
import { parseVersion, type KubeVersion } from "../../src/plan/versions.js";
import { FAIL_SNAPSHOT_ANNOTATION, FAIL_UPGRADE_ANNOTATION, RECORDS_CONFIGMAP, type UpgradeRecord } from "../../src/sandbox/agent.js";
import { CONTROL_PLANE_COMPONENTS } from "../../src/sandbox/images.js";
import { setStaticPodImage } from "../../src/sandbox/static-pods.js";
import { CONTROL_PLANE_LABEL } from "../../src/sandbox/seed.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { readState, writeState } from "../../src/sandbox/state.js";
import { startDetached } from "../../src/tools/detached.js";
import { eventually, sandboxCluster as sandboxClusterOf, sharedSandbox } from "./sandbox.js";

/**
 * Sets every node of a seeded cluster back to `version` (kubelets, static pods, `kubeadm-config`), and
 * removes what earlier runs left: upgrade and snapshot Jobs, the agent's records, cordons and marks, and
 * bosun's lock and journal.
 */
export async function resetCluster(clients: KubeClients, version: string): Promise<void> {
  const { core, batch } = clients;
  for (const selector of [NODE_UPGRADE_LABEL, SNAPSHOT_LABEL]) {
    await batch.deleteCollectionNamespacedJob({ namespace: "kube-system", labelSelector: selector, propagationPolicy: "Background" });
  }
  await eventually("old upgrade and snapshot Jobs gone", async () => {
    const left = await batch.listNamespacedJob({ namespace: "kube-system", labelSelector: NODE_UPGRADE_LABEL });
    const snapshots = await batch.listNamespacedJob({ namespace: "kube-system", labelSelector: SNAPSHOT_LABEL });
    return left.items.length + snapshots.items.length === 0 ? true : undefined;
  });
  await core.deleteNamespacedConfigMap({ name: RECORDS_CONFIGMAP, namespace: "kube-system" }).catch(() => undefined);
  for (const name of ["bosun-journal"]) await core.deleteNamespacedConfigMap({ name, namespace: "bosun-system" }).catch(() => undefined);
  await clients.coordination.deleteNamespacedLease({ name: "bosun-lock", namespace: "bosun-system" }).catch(() => undefined);

  const nodes = await core.listNode();
  for (const node of nodes.items) {
    const name = node.metadata?.name ?? "";
    await core.patchNode(
      {
        name,
        body: {
          metadata: { annotations: { [CORDONED_BY_ANNOTATION]: null, [FAIL_UPGRADE_ANNOTATION]: null, [FAIL_SNAPSHOT_ANNOTATION]: null } },
          spec: { unschedulable: null },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // kwok renews node heartbeats in the status at the same time: a conflict re-reads and tries again.
    await retryOnConflict(async () => {
      const status = await core.readNodeStatus({ name });
      if (status.status?.nodeInfo) {
        status.status.nodeInfo.kubeletVersion = `v${version}`;
        status.status.nodeInfo.kubeProxyVersion = `v${version}`;
      }
      await core.replaceNodeStatus({ name, body: status });
    });
    if (node.metadata?.labels?.[CONTROL_PLANE_LABEL] !== undefined) {
      for (const component of CONTROL_PLANE_COMPONENTS) await setStaticPodImage(core, component, name, version);
    }
  }
  await retryOnConflict(async () => {
    const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
    const config = parse(cm.data?.ClusterConfiguration ?? "") as Record<string, unknown>;
    config.kubernetesVersion = `v${version}`;
    cm.data = { ...cm.data, ClusterConfiguration: stringify(config) };
    await core.replaceNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system", body: cm });
  });
}

/** Marks (or unmarks) a node so that its upgrade Jobs, or the snapshot pods on it, fail. */
export async function markNode(core: k8s.CoreV1Api, node: string, annotation: string, on: boolean): Promise<void> {
  await core.patchNode(
    { name: node, body: { metadata: { annotations: { [annotation]: on ? "true" : null } } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

/** A cluster's versions as the sandbox was seeded, node by node, for {@link replaySkew}. */
export interface SeededNodes {
  controlPlane: string[];
  workers: string[];
  version: string;
}

/**
 * Replays the agent's records in order from the seeded state and returns every skew violation met along
 * the way (empty when no moment broke the policy). Each record moves a node's static pods
 * (`control-plane`), its kubelet (`kubelet`) or both (`all`).
 */
export function replaySkew(seeded: SeededNodes, records: readonly UpgradeRecord[]): string[] {
  const v = (text: string): KubeVersion => {
    const parsed = parseVersion(text);
    if (!parsed.ok) throw new Error(`bad version ${text}`);
    return parsed.version;
  };
  const cp = new Map(seeded.controlPlane.map((name) => [name, { apiserver: v(seeded.version), controllerManager: v(seeded.version), scheduler: v(seeded.version), kubelet: v(seeded.version) }]));
  const workers = new Map(seeded.workers.map((name) => [name, v(seeded.version)]));
  const problems: string[] = [];
  for (const record of records) {
    const to = v(record.to);
    const node = cp.get(record.node);
    if (node) {
      if (record.phase !== "kubelet") Object.assign(node, { apiserver: to, controllerManager: to, scheduler: to });
      if (record.phase !== "control-plane") node.kubelet = to;
    } else if (workers.has(record.node)) {
      workers.set(record.node, to);
    }
    const state: VersionState = { controlPlane: [...cp.values()], workers: [...workers.values()] };
    for (const violation of checkSkew(state)) problems.push(`after record ${record.seq} (${record.node} ${record.phase} → ${record.to}): ${violation.detail}`);
  }
  return problems;
}

/**
 * Stops one cluster's kube-apiserver of the shared sandbox (SIGTERM, then waits until it exited), keeps it
 * down for `downMs`, and starts it again with the same command line; the sandbox state gets the new pid so
 * teardown stops it. Resolves once the new server answers `/readyz`.
 */
export async function restartApiserver(cluster: string, downMs: number): Promise<void> {
  const layout = sandboxLayout(sharedSandbox().root, sharedSandbox().name);
  const state = await readState(layout);
  const record = state?.clusters.find((c) => c.name === cluster)?.processes.find((p) => p.component === "kube-apiserver");
  if (!state || !record) throw new Error(`no kube-apiserver for ${cluster} in the sandbox state`);
  const argv = (await fs.readFile(`/proc/${record.pid}/cmdline`, "utf8")).split("\0").filter((a) => a !== "");
  const [file, ...args] = argv;
  if (!file) throw new Error(`cannot read the command line of pid ${record.pid}`);
  const exited = (): Promise<true | undefined> => {
    try {
      process.kill(record.pid, 0);
      return Promise.resolve(undefined);
    } catch {
      return Promise.resolve(true);
    }
  };
  process.kill(record.pid, "SIGTERM");
  try {
    await eventually(`kube-apiserver ${record.pid} exited`, exited, 60_000);
  } catch {
    // A loaded machine can keep a graceful shutdown draining past a minute: the test needs it down, not graceful.
    process.kill(record.pid, "SIGKILL");
    await eventually(`kube-apiserver ${record.pid} exited after SIGKILL`, exited, 30_000);
  }
  await new Promise((resolve) => setTimeout(resolve, downMs));
  record.pid = await startDetached({ tool: "kube-apiserver", file, args, logFile: record.log });
  await writeState(layout, state);
  const { core } = sandboxClusterOf(cluster);
  await eventually(`kube-apiserver of ${cluster} back`, async () => ((await core.listNamespace()).items.length > 0 ? true : undefined), 120_000);
}
