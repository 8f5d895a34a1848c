/**
 * kubeadm upgrades through `bosun apply` on the shared sandbox's cluster delta (3 control-plane nodes, 2
 * workers), which every case first sets back to one version. The sandbox node agent plays kubeadm and the
 * kubelet for bosun's upgrade Jobs and records each one it applied; everything else — Jobs, evictions,
 * PodDisruptionBudgets, cordons — is the real API server and kube-controller-manager.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SNAPSHOT_LABEL } from "../../src/constants.js";
import { kubeadmPreflight } from "../../src/drivers/kubeadm/execute.js";
import { NODE_UPGRADE_LABEL } from "../../src/constants.js";
import { KubeRest } from "../../src/kube/rest.js";
import { KUBERNETES_RELEASES } from "../../src/plan/kubernetes-releases.js";
import { loadFleet } from "../../src/spec/load.js";
import { FAIL_SNAPSHOT_ANNOTATION, FAIL_UPGRADE_ANNOTATION, readUpgradeRecords, type UpgradeRecord } from "../../src/sandbox/agent.js";
import { BOSUN_CLI, bosun, deleteNamespaces, eventually, sandboxCluster, sharedSandbox } from "../support/sandbox.js";
import { markNode, replaySkew, resetCluster, restartApiserver } from "../support/upgrade.js";

const CLUSTER = "delta";
const CONTROL_PLANE = ["delta-cp-1", "delta-cp-2", "delta-cp-3"];
const WORKERS = ["delta-worker-1", "delta-worker-2"];
const delta = sandboxCluster(CLUSTER);
const dirs: string[] = [];

/** A one-cluster fleet for delta at `version`. */
async function fleet(version: string, options: { drainTimeout?: string; backup?: boolean; script?: string } = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-upgrade-fleet-"));
  dirs.push(dir);
  await fs.mkdir(path.join(dir, "clusters"));
  if (options.script !== undefined) {
    await fs.mkdir(path.join(dir, "scripts"));
    await fs.writeFile(path.join(dir, "scripts/node-upgrade.sh"), options.script);
  }
  await fs.writeFile(
    path.join(dir, "fleet.yaml"),
    `apiVersion: bosun.dev/v1alpha1
kind: Fleet
metadata: { name: upgrade-test }
spec:
  defaults:
    provider: { kubeadm: { packageManager: apt${options.script === undefined ? "" : ", upgradeScript: scripts/node-upgrade.sh"} } }
    upgrade:
      skewPolicy: strict
      drain: { timeout: ${options.drainTimeout ?? "2m"} }
      workers: { maxUnavailable: 1 }
${
  options.backup === false
    ? ""
    : `    backup:
      etcd: { schedule: "0 */6 * * *", retain: 5, beforeUpgrade: true, destination: { hostPath: /var/backups/etcd } }
`
}  rollout:
    waves: [{ name: all, selector: {} }]
`,
  );
  await fs.writeFile(
    path.join(dir, "clusters/delta.yaml"),
    `apiVersion: bosun.dev/v1alpha1
kind: Cluster
metadata: { name: delta }
spec:
  connection: { context: delta }
  kubernetes: { version: "${version}" }
  topology:
    controlPlane: { replicas: 3, zones: [zone-a, zone-b, zone-c] }
    endpoint: api.delta.test:6443
`,
  );
  return dir;
}

const env = (): Record<string, string | undefined> => ({ KUBECONFIG: sharedSandbox().kubeconfig });

async function apply(dir: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return bosun(["apply", "--yes", "--fleet", dir], { env: env() });
}

async function versions(): Promise<Record<string, string>> {
  const nodes = await delta.core.listNode();
  return Object.fromEntries(nodes.items.map((n) => [n.metadata?.name ?? "", n.status?.nodeInfo?.kubeletVersion ?? ""]));
}

async function apiserverImages(): Promise<string[]> {
  const pods = await delta.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "component=kube-apiserver" });
  return pods.items.map((p) => p.spec?.containers[0]?.image ?? "").sort();
}

/** (node, phase, to) → how many records; a resumed run must never make one of these 2. */
function perMove(records: readonly UpgradeRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(`${r.node} ${r.phase} ${r.to}`, (counts.get(`${r.node} ${r.phase} ${r.to}`) ?? 0) + 1);
  return counts;
}

beforeAll(async () => {
  await deleteNamespaces(delta.core, ["upgrade-pdb"]);
});

afterAll(async () => {
  await deleteNamespaces(delta.core, ["upgrade-pdb"]);
  await resetCluster(delta, "1.34.4");
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

describe("kubeadm upgrades through bosun apply", () => {
  it("upgrades an HA cluster two minors, rung by rung, control plane first, one node at a time, within skew", async () => {
    await resetCluster(delta, "1.34.4");
    const dir = await fleet("1.36.2");
    const result = await apply(dir);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);

    expect(Object.values(await versions())).toEqual(Array(5).fill("v1.36.2"));
    expect(await apiserverImages()).toEqual(Array(3).fill("registry.k8s.io/kube-apiserver:v1.36.2"));

    const records = await readUpgradeRecords(delta.core);
    // Each rung: every control-plane node's static pods, then every control-plane kubelet, then the
    // workers — each node exactly once per phase and rung.
    const expected = (to: string): string[] => [
      ...CONTROL_PLANE.map((n) => `${n} control-plane ${to}`),
      ...CONTROL_PLANE.map((n) => `${n} kubelet ${to}`),
      ...WORKERS.map((n) => `${n} kubelet ${to}`),
    ];
    expect(records.map((r) => `${r.node} ${r.phase} ${r.to}`)).toEqual([...expected(`v${KUBERNETES_RELEASES.latest["1.35"]?.version}`), ...expected("v1.36.2")]);
    expect(replaySkew({ controlPlane: CONTROL_PLANE, workers: WORKERS, version: "1.34.4" }, records)).toEqual([]);

    // One at a time: no two upgrade Jobs ran at once (maxUnavailable 1), and the snapshot came first.
    const jobs = (await delta.batch.listNamespacedJob({ namespace: "kube-system", labelSelector: NODE_UPGRADE_LABEL })).items;
    expect(jobs).toHaveLength(16);
    const spans = jobs
      .map((j) => ({ start: new Date(j.metadata?.creationTimestamp ?? 0).getTime(), end: new Date(j.status?.completionTime ?? 0).getTime() }))
      .sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i += 1) expect(spans[i]?.start).toBeGreaterThanOrEqual(spans[i - 1]?.end ?? Infinity);
    const snapshots = (await delta.batch.listNamespacedJob({ namespace: "kube-system", labelSelector: SNAPSHOT_LABEL })).items;
    expect(snapshots).toHaveLength(1);
    expect(new Date(snapshots[0]?.status?.completionTime ?? Infinity).getTime()).toBeLessThanOrEqual(spans[0]?.start ?? 0);
    expect(result.stdout).toMatch(/etcd snapshot saved and verified: \/backup\/etcd-snapshot-\d{8}T\d{6}Z\.db on node delta-cp-\d/);

    // Progress per node with timings, and the versions before and after.
    expect(result.stdout).toMatch(/delta-worker-1: kubelet at 1\.36\.2 in [\d.]+ s \(cordon [\d.]+ s, drain [\d.]+ s, upgrade [\d.]+ s, ready [\d.]+ s, uncordon [\d.]+ s\)/);
    expect(result.stdout).toMatch(/versions before: control plane 1\.34\.4 \(3 nodes\), workers 1\.34\.4 \(2 nodes\); after: control plane 1\.36\.2 \(3 nodes\), workers 1\.36\.2 \(2 nodes\)/);
    const nodes = await delta.core.listNode();
    expect(nodes.items.filter((n) => n.spec?.unschedulable)).toEqual([]);

    const again = await bosun(["plan", "--fleet", dir, "--detailed-exitcode"], { env: env() });
    expect(again.exitCode, again.stdout).toBe(0);
  });

  it("stops at a drain a PodDisruptionBudget forbids, leaving the node cordoned and saying why", async () => {
    await resetCluster(delta, "1.35.4");
    await delta.core.createNamespace({ body: { metadata: { name: "upgrade-pdb" } } });
    const labels = { app: "guarded" };
    await delta.apps.createNamespacedDeployment({
      namespace: "upgrade-pdb",
      body: {
        metadata: { name: "guarded" },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { nodeSelector: { "kubernetes.io/hostname": "delta-worker-1" }, containers: [{ name: "app", image: "registry.example/guarded:1" }] },
          },
        },
      },
    });
    await delta.objects.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "guarded", namespace: "upgrade-pdb" },
      spec: { maxUnavailable: 0, selector: { matchLabels: labels } },
    });
    await eventually("the guarded pod running on delta-worker-1", async () => {
      const pods = await delta.core.listNamespacedPod({ namespace: "upgrade-pdb" });
      return pods.items.some((p) => p.status?.phase === "Running" && p.spec?.nodeName === "delta-worker-1") ? true : undefined;
    });

    // This fleet also replaces bosun's node script with its own (provider.kubeadm.upgradeScript).
    const script = "set -eu\necho custom upgrade to $BOSUN_VERSION\n";
    const result = await apply(await fleet("1.36.2", { drainTimeout: "15s", backup: false, script }));
    expect(result.exitCode).toBe(1);
    const job = await delta.batch.readNamespacedJob({ name: "bosun-upgrade-delta-cp-1-cp-v1-36-2", namespace: "kube-system" });
    expect(job.spec?.template.spec?.containers[0]?.command).toEqual(["chroot", "/host", "/bin/sh", "-c", script]);
    // The failure carries its phase into the output (and the journal), not one generic reason.
    expect(result.stdout).toMatch(/failed at \S+ \(drain\): /);
    expect(result.stdout).toMatch(/delta-worker-1: kubelet upgrade to 1\.36\.2 failed at drain: draining node delta-worker-1 timed out after 15 s with 1 pod left: upgrade-pdb\/guarded-[a-z0-9-]+ \(.*disruption budget.*\)/i);
    expect(result.stdout).toMatch(/The node is left cordoned/);
    const worker = await delta.core.readNode({ name: "delta-worker-1" });
    expect(worker.spec?.unschedulable).toBe(true);
    expect(worker.status?.nodeInfo?.kubeletVersion).toBe("v1.35.4");
    // The control plane went first and finished; the other worker was never started.
    const records = await readUpgradeRecords(delta.core);
    expect(records.filter((r) => r.role === "worker")).toEqual([]);
    expect(records.filter((r) => r.role === "control-plane")).toHaveLength(6);
    await deleteNamespaces(delta.core, ["upgrade-pdb"]);
  });

  it("stops at a node whose upgrade Job fails, then resumes there without upgrading finished nodes again", async () => {
    await resetCluster(delta, "1.35.4");
    await markNode(delta.core, "delta-cp-2", FAIL_UPGRADE_ANNOTATION, true);
    const dir = await fleet("1.36.2", { backup: false });
    const failed = await apply(dir);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/failed at \S+ \(job\): /);
    expect(failed.stdout).toMatch(/delta-cp-2: control-plane upgrade to 1\.36\.2 failed at upgrade Job: Job bosun-upgrade-delta-cp-2-cp-v1-36-2 failed .*fail-upgrade/);
    expect(failed.stdout).toMatch(/kubectl -n kube-system logs job\/bosun-upgrade-delta-cp-2-cp-v1-36-2/);
    const first = await readUpgradeRecords(delta.core);
    expect(first.map((r) => `${r.node} ${r.phase}`)).toEqual(["delta-cp-1 control-plane"]);

    await markNode(delta.core, "delta-cp-2", FAIL_UPGRADE_ANNOTATION, false);
    const resumed = await apply(dir);
    expect(resumed.exitCode, resumed.stdout).toBe(0);
    expect(resumed.stdout).toMatch(/delta-cp-1: control plane already at 1\.36\.2/);
    expect(resumed.stdout).toMatch(/replacing the failed Job bosun-upgrade-delta-cp-2-cp-v1-36-2/);
    const records = await readUpgradeRecords(delta.core);
    expect([...perMove(records).values()].every((n) => n === 1)).toBe(true);
    expect(records).toHaveLength(8);
    expect(Object.values(await versions())).toEqual(Array(5).fill("v1.36.2"));
  });

  it("blocks the whole upgrade when the pre-upgrade snapshot fails", async () => {
    await resetCluster(delta, "1.35.4");
    for (const node of CONTROL_PLANE) await markNode(delta.core, node, FAIL_SNAPSHOT_ANNOTATION, true);
    try {
      const result = await apply(await fleet("1.36.2"));
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/failed at \S+ \(snapshot\): /);
      expect(result.stdout).toMatch(/the pre-upgrade etcd snapshot failed on node delta-cp-\d .*no control-plane step was started/);
      expect(await readUpgradeRecords(delta.core)).toEqual([]);
      expect((await delta.batch.listNamespacedJob({ namespace: "kube-system", labelSelector: NODE_UPGRADE_LABEL })).items).toEqual([]);
      expect(new Set(Object.values(await versions()))).toEqual(new Set(["v1.35.4"]));
    } finally {
      for (const node of CONTROL_PLANE) await markNode(delta.core, node, FAIL_SNAPSHOT_ANNOTATION, false);
    }
  });

  it("preflight passes on the planned versions and refuses once the cluster moved since the plan", async () => {
    await resetCluster(delta, "1.35.4");
    const dir = await fleet("1.36.2");
    const loaded = await loadFleet(dir);
    const desired = loaded.ok ? loaded.value.clusters.find((c) => c.name === CLUSTER) : undefined;
    if (!desired) throw new Error("the test fleet does not load");
    const ctx = {
      cluster: CLUSTER,
      desired,
      rest: new KubeRest(delta.kc, { cluster: CLUSTER }),
      runId: "preflight-test",
      fleetDir: dir,
      signal: new AbortController().signal,
      log: () => undefined,
      record: () => Promise.resolve(),
    };
    const at = (version: string): { oldest: string; newest: string } => ({ oldest: version, newest: version });
    expect(await kubeadmPreflight(ctx, { controlPlane: at("1.35.4"), workers: at("1.35.4") })).toBeUndefined();
    expect(await kubeadmPreflight(ctx, { controlPlane: at("1.34.4"), workers: at("1.35.4") })).toBe(
      "the control plane is at 1.35.4 now, the plan was made at 1.34.4; plan again",
    );
    expect(await kubeadmPreflight(ctx, { controlPlane: at("1.35.4"), workers: { oldest: "1.34.4", newest: "1.35.4" } })).toBe(
      "the workers are at 1.35.4 now, the plan was made at 1.34.4–1.35.4; plan again",
    );
  });

  it("converges after being killed mid-upgrade, repeating no finished node", async () => {
    await resetCluster(delta, "1.35.4");
    const dir = await fleet("1.36.2", { backup: false });
    const run = execa(process.execPath, [BOSUN_CLI, "apply", "--yes", "--fleet", dir], { env: env(), reject: false });
    await eventually("three nodes upgraded", async () => ((await readUpgradeRecords(delta.core)).length >= 3 ? true : undefined), 120_000);
    run.kill("SIGKILL");
    await run;
    const before = await readUpgradeRecords(delta.core);

    // The killed run's lease has minutes left, but its holder is a process of this machine that is gone:
    // the next run takes the lock over at once and resumes.
    const resumed = await apply(dir);
    expect(resumed.exitCode, resumed.stdout).toBe(0);
    const records = await readUpgradeRecords(delta.core);
    expect(records.slice(0, before.length)).toEqual(before);
    expect([...perMove(records).values()].every((n) => n === 1)).toBe(true);
    expect(records).toHaveLength(8);
    expect(Object.values(await versions())).toEqual(Array(5).fill("v1.36.2"));
  });

  it("rides out its API server being stopped and restarted mid-upgrade", async () => {
    await resetCluster(delta, "1.35.4");
    const dir = await fleet("1.36.2", { backup: false });
    const run = execa(process.execPath, [BOSUN_CLI, "apply", "--yes", "--fleet", dir], { env: env(), reject: false });
    await eventually("two nodes upgraded", async () => ((await readUpgradeRecords(delta.core)).length >= 2 ? true : undefined), 120_000);
    // Down for 10 s, then the same server again on the same port and etcd.
    await restartApiserver(CLUSTER, 10_000);
    const result = await run;
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/retrying in/);
    const records = await readUpgradeRecords(delta.core);
    expect([...perMove(records).values()].every((n) => n === 1)).toBe(true);
    expect(Object.values(await versions())).toEqual(Array(5).fill("v1.36.2"));
  });
});
