/**
 * The kubeadm observer and the backup observer against the shared sandbox's real API servers: what is
 * observed matches what the cluster shows through the typed clients, the number of requests is the same
 * for every cluster whatever its node count, a cordon shows, a missing `kubeadm-config` makes the cluster
 * invalid, and the backup CronJob compares with its template without false drift.
 *
 * Other suites may have moved nodes to another version by the time this one runs (the node agent's
 * tests upgrade alpha-cp-1), so versions are checked against what the API reports, not hard-coded.
 */
import { PatchStrategy, setHeaderOptions, type KubernetesObject } from "@kubernetes/client-node";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { ETCD_BACKUP_CRONJOB, etcdBackupCronJob } from "../../src/backup/template.js";
import { observeBackup } from "../../src/backup/observe.js";
import { KUBEADM_OBSERVE_REQUESTS, observeKubeadm } from "../../src/drivers/kubeadm/observe.js";
import { httpStatus } from "../../src/kube/errors.js";
import { KubeRest } from "../../src/kube/rest.js";
import type { ObservedKubeadm } from "../../src/plan/observed.js";
import type { DesiredCluster, EtcdBackup } from "../../src/spec/types.js";
import { eventually, sandboxCluster } from "../support/sandbox.js";

/** A fresh client for one sandbox cluster, so its request count starts at zero. */
function rest(cluster: string): KubeRest {
  return new KubeRest(sandboxCluster(cluster).kc, { cluster });
}

async function observed(cluster: string): Promise<{ value: ObservedKubeadm; requests: number }> {
  const client = rest(cluster);
  const value = await observeKubeadm(client);
  if ("invalid" in value) throw new Error(value.invalid);
  return { value, requests: client.requests };
}

const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** What the cluster shows through the typed client: kubeadm-config's version, and each node's static pod versions. */
async function viaTypedClient(cluster: string): Promise<{ clusterVersion: string; images: Map<string, Record<string, string>>; kubelets: Map<string, string> }> {
  const { core } = sandboxCluster(cluster);
  const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
  const config = parse(cm.data?.ClusterConfiguration ?? "") as { kubernetesVersion: string };
  const pods = await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "tier=control-plane" });
  const images = new Map<string, Record<string, string>>();
  for (const pod of pods.items) {
    const node = pod.spec?.nodeName ?? "";
    const tag = (pod.spec?.containers[0]?.image ?? "").split(":").pop() ?? "";
    images.set(node, { ...images.get(node), [pod.metadata?.labels?.component ?? ""]: tag.replace(/^v/, "") });
  }
  const nodes = await core.listNode();
  const kubelets = new Map(nodes.items.map((n) => [n.metadata?.name ?? "", (n.status?.nodeInfo?.kubeletVersion ?? "").replace(/^v/, "")]));
  return { clusterVersion: config.kubernetesVersion.replace(/^v/, ""), images, kubelets };
}

describe("observeKubeadm on the shared sandbox", () => {
  it("observes alpha: 3 control-plane nodes in 3 zones, 2 workers, stacked etcd, the endpoint", async () => {
    const { value, requests } = await observed("alpha");
    const truth = await viaTypedClient("alpha");
    expect(requests).toBe(KUBEADM_OBSERVE_REQUESTS);
    expect(value.kind).toBe("kubeadm");
    expect(value.clusterVersion).toBe(truth.clusterVersion);
    expect(value.clusterVersion).toMatch(/^1\.3[45]\.4$/);
    expect(value.controlPlaneEndpoint).toBe("api.alpha.test:6443");
    expect(value.etcd).toEqual({ mode: "stacked", members: ["alpha-cp-1", "alpha-cp-2", "alpha-cp-3"] });
    expect(value.nodes.map((n) => [n.name, n.role, n.zone, n.ready])).toEqual([
      ["alpha-cp-1", "control-plane", "zone-a", true],
      ["alpha-cp-2", "control-plane", "zone-b", true],
      ["alpha-cp-3", "control-plane", "zone-c", true],
      ["alpha-worker-1", "worker", "zone-a", true],
      ["alpha-worker-2", "worker", "zone-b", true],
    ]);
    for (const node of value.nodes) expect(node.kubelet).toBe(truth.kubelets.get(node.name));
    expect(value.controlPlane.map((e) => e.node)).toEqual(["alpha-cp-1", "alpha-cp-2", "alpha-cp-3"]);
    for (const entry of value.controlPlane) {
      const images = truth.images.get(entry.node) ?? {};
      expect(entry).toEqual({
        node: entry.node,
        apiserver: images["kube-apiserver"],
        controllerManager: images["kube-controller-manager"],
        scheduler: images["kube-scheduler"],
        etcd: images.etcd,
        ready: true,
      });
      expect(entry.apiserver).toMatch(/^1\.3[45]\.4$/);
      expect(entry.etcd).toMatch(/^3\.6\.\d+-0$/);
    }
  });

  it("observes beta: one control-plane node at 1.35.4 and a worker kubelet at 1.34.4, with the same number of requests", async () => {
    const { value, requests } = await observed("beta");
    const truth = await viaTypedClient("beta");
    expect(requests).toBe(KUBEADM_OBSERVE_REQUESTS);
    expect(value.clusterVersion).toBe(truth.clusterVersion);
    expect(value.controlPlaneEndpoint).toBe("beta.sandbox.internal:6443");
    expect(value.etcd).toEqual({ mode: "stacked", members: ["beta-cp-1"] });
    expect(value.nodes.map((n) => [n.name, n.role, n.zone, n.kubelet])).toEqual([
      ["beta-cp-1", "control-plane", "zone-a", truth.kubelets.get("beta-cp-1")],
      ["beta-worker-1", "worker", "zone-a", truth.kubelets.get("beta-worker-1")],
    ]);
    expect(value.controlPlane).toEqual([
      { node: "beta-cp-1", apiserver: "1.35.4", controllerManager: "1.35.4", scheduler: "1.35.4", etcd: expect.stringMatching(/^3\.6\.\d+-0$/) as unknown, ready: true },
    ]);
  });

  it("makes the same number of requests with one node more", async () => {
    const { core } = sandboxCluster("alpha");
    const name = "alpha-observe-extra";
    await core.createNode({
      body: {
        metadata: { name, labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "zone-c" } },
        status: {
          nodeInfo: {
            kubeletVersion: "v1.33.9",
            kubeProxyVersion: "v1.33.9",
            architecture: "amd64",
            operatingSystem: "linux",
            osImage: "test",
            kernelVersion: "test",
            containerRuntimeVersion: "containerd://1.7.24",
            bootID: "",
            machineID: "",
            systemUUID: "",
          },
          conditions: [{ type: "Ready", status: "True" }],
        },
      },
    });
    try {
      const { value, requests } = await observed("alpha");
      expect(requests).toBe(KUBEADM_OBSERVE_REQUESTS);
      expect(value.nodes.find((n) => n.name === name)).toMatchObject({ role: "worker", zone: "zone-c" });
      expect(value.controlPlane).toHaveLength(3);
    } finally {
      await core.deleteNode({ name });
    }
  });

  it("shows a cordoned node as unschedulable", async () => {
    const { core } = sandboxCluster("alpha");
    await core.patchNode({ name: "alpha-worker-1", body: { spec: { unschedulable: true } } }, MERGE_PATCH);
    try {
      const { value } = await observed("alpha");
      expect(value.nodes.find((n) => n.name === "alpha-worker-1")?.unschedulable).toBe(true);
      expect(value.nodes.filter((n) => n.unschedulable).map((n) => n.name)).toEqual(["alpha-worker-1"]);
    } finally {
      await core.patchNode({ name: "alpha-worker-1", body: { spec: { unschedulable: null } } }, MERGE_PATCH);
    }
    const { value } = await observed("alpha");
    expect(value.nodes.find((n) => n.name === "alpha-worker-1")?.unschedulable).toBe(false);
  });

  it("says a cluster without kube-system/kubeadm-config is not a kubeadm cluster (beta's, removed and restored)", async () => {
    const { core } = sandboxCluster("beta");
    const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
    await core.deleteNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
    try {
      const client = rest("beta");
      const result = await observeKubeadm(client);
      expect(result).toEqual({ invalid: expect.stringMatching(/^kube-system\/kubeadm-config not found: is beta a kubeadm cluster\?/) as unknown });
      expect(client.requests).toBe(KUBEADM_OBSERVE_REQUESTS);
    } finally {
      await core.createNamespacedConfigMap({
        namespace: "kube-system",
        body: { metadata: { name: "kubeadm-config", namespace: "kube-system", labels: cm.metadata?.labels }, data: cm.data },
      });
    }
    expect("invalid" in (await observeKubeadm(rest("beta")))).toBe(false);
  });
});

describe("observeBackup on the shared sandbox", () => {
  const clients = sandboxCluster("alpha");
  // A schedule that does not fire while the suite runs (03:00 UTC).
  const BACKUP: EtcdBackup = { schedule: "0 3 * * *", retain: 5, beforeUpgrade: true, destination: { hostPath: "/var/lib/etcd-backups" } };
  const alpha = (etcd: EtcdBackup | null): DesiredCluster => ({
    name: "alpha",
    labels: {},
    origin: { file: "clusters/alpha.yaml", line: 1 },
    wave: "default",
    windows: [],
    drift: { correct: false },
    connection: { kind: "context", context: "alpha" },
    provider: { kind: "kubeadm", packageManager: "apt", upgradeScript: null },
    kubernetes: { version: "1.34.4" },
    upgrade: { skewPolicy: "strict", intermediateVersions: {}, drainTimeoutSeconds: 600, maxUnavailable: { kind: "count", count: 1 } },
    topology: { controlPlane: { replicas: 3, zones: ["zone-a", "zone-b", "zone-c"] }, etcd: { mode: "stacked" }, endpoint: "api.alpha.test:6443" },
    backup: { etcd },
    addons: [],
  });

  async function deleteCronJob(): Promise<void> {
    try {
      await clients.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB, propagationPolicy: "Background" });
    } catch (error) {
      if (httpStatus(error) !== 404) throw error;
    }
    await eventually("backup CronJob gone", async () => {
      try {
        await clients.batch.readNamespacedCronJob(ETCD_BACKUP_CRONJOB);
        return undefined;
      } catch (error) {
        return httpStatus(error) === 404 ? true : undefined;
      }
    });
  }

  async function applyTemplate(): Promise<void> {
    const object = etcdBackupCronJob("alpha", BACKUP) as unknown as KubernetesObject;
    await clients.objects.patch(object, undefined, undefined, "bosun", true, PatchStrategy.ServerSideApply);
  }

  async function observe(etcd: EtcdBackup | null = BACKUP): Promise<{ result: Awaited<ReturnType<typeof observeBackup>>; requests: number }> {
    const client = rest("alpha");
    const result = await observeBackup(client, alpha(etcd));
    return { result, requests: client.requests };
  }

  afterAll(deleteCronJob);

  it("wants to create an absent CronJob (3 requests), and reads nothing more when backups are off (1 request)", async () => {
    await deleteCronJob();
    const { result, requests } = await observe();
    expect(result).toMatchObject({ present: false, lastSuccessfulTime: null, change: { id: "CronJob/kube-system/bosun-etcd-backup", action: "create" } });
    expect(result.change?.diff).toMatch(/^\+\s+schedule: 0 3 \* \* \*$/m);
    expect(requests).toBe(3);
    const off = await observe(null);
    expect(off).toEqual({ result: { present: false, lastSuccessfulTime: null, change: null }, requests: 1 });
  });

  it("sees no drift right after a server-side apply of the template, defaults and all", async () => {
    await applyTemplate();
    const { result, requests } = await observe();
    expect(result).toEqual({ present: true, lastSuccessfulTime: null, change: { id: "CronJob/kube-system/bosun-etcd-backup", action: "unchanged", diff: "" } });
    expect(requests).toBe(3);
  });

  it("reports the last successful run from the CronJob's status", async () => {
    await clients.batch.patchNamespacedCronJobStatus(
      { ...ETCD_BACKUP_CRONJOB, body: { status: { lastSuccessfulTime: "2026-01-02T03:00:07Z" } } },
      MERGE_PATCH,
    );
    const { result } = await observe();
    expect(result.lastSuccessfulTime).toBe("2026-01-02T03:00:07Z");
    expect(result.change?.action).toBe("unchanged");
    expect((await observe(null)).result).toEqual({ present: true, lastSuccessfulTime: "2026-01-02T03:00:07Z", change: null });
  });

  it("shows a schedule edited by hand as an update with the schedule in the diff", async () => {
    await clients.batch.patchNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB, body: { spec: { schedule: "5 4 * * *" } }, fieldManager: "kubectl-edit" }, MERGE_PATCH);
    const { result } = await observe();
    expect(result.change?.action).toBe("update");
    expect(result.change?.diff).toMatch(/^-\s+schedule: 5 4 \* \* \*$/m);
    expect(result.change?.diff).toMatch(/^\+\s+schedule: 0 3 \* \* \*$/m);
    expect(result.change?.diff.split("\n").filter((line) => /^[-+]\s/.test(line))).toHaveLength(2);
    await applyTemplate();
    expect((await observe()).result.change?.action).toBe("unchanged");
  });

  it("shows a CronJob suspended by hand as an update", async () => {
    await clients.batch.patchNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB, body: { spec: { suspend: true } }, fieldManager: "kubectl-patch" }, MERGE_PATCH);
    const { result } = await observe();
    expect(result.change?.action).toBe("update");
    expect(result.change?.diff).toMatch(/^-\s+suspend: true$/m);
    expect(result.change?.diff).toMatch(/^\+\s+suspend: false$/m);
    await applyTemplate();
    expect((await observe()).result.change?.action).toBe("unchanged");
  });

  it("wants to create it again once deleted", async () => {
    await deleteCronJob();
    const { result } = await observe();
    expect(result).toMatchObject({ present: false, lastSuccessfulTime: null, change: { action: "create" } });
  });
});
