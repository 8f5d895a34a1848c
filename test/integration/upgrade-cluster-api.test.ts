/**
 * Cluster API upgrades and scaling against real API servers: a sandbox of its own (full mode) from
 * test/fixtures/sandbox-capi-upgrade, where `capi-mgmt` manages `capi-work` (one control-plane machine and
 * a MachineDeployment of two workers, all at 1.33.7). The sandbox agent's simulated Cluster API controller
 * rolls machines one at a time and records every machine change in `fleet/sandbox-capi-changes` of the
 * management cluster; bosun's driver only patches the KubeadmControlPlane and MachineDeployment and waits.
 *
 * The plan comes from the real observer and planner (fleet test/fixtures/fleets/cluster-api-upgrade: 1.35.4
 * with 3 control-plane replicas), and the driver executes its steps one by one, as `apply` does.
 */
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeClusterAPIStep, type ClusterAPIStepContext } from "../../src/drivers/cluster-api/execute.js";
import { ClusterAPIStepError } from "../../src/drivers/cluster-api/rollout.js";
import { clientsFor, loadKubeConfig, type KubeClients } from "../../src/kube/config.js";
import { KubeRest } from "../../src/kube/rest.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import { KUBERNETES_RELEASES } from "../../src/plan/kubernetes-releases.js";
import type { ClusterPlan, ControlPlaneUpgradeStep, TopologyScaleStep, WorkersUpgradeStep } from "../../src/plan/types.js";
import { readClusterAPIChanges, type ClusterAPIChange } from "../../src/sandbox/capi-controller.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { freePorts } from "../../src/sandbox/ports.js";
import type { SandboxState } from "../../src/sandbox/state.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { bosun } from "../support/sandbox.js";

/** The intermediate rung: the latest 1.34 patch of the bundled release table (regenerated tables keep this test true). */
const MID = KUBERNETES_RELEASES.latest["1.34"]?.version ?? "1.34.0";
const FIXTURE = fileURLToPath(new URL("../fixtures/sandbox-capi-upgrade", import.meta.url));
const FLEET = fileURLToPath(new URL("../fixtures/fleets/cluster-api-upgrade", import.meta.url));
const NAME = "capi-upgrade";
const KCP_PATH = "/apis/controlplane.x-k8s.io/v1beta1/namespaces/fleet/kubeadmcontrolplanes/work-control-plane";
const MD_PATH = "/apis/cluster.x-k8s.io/v1beta1/namespaces/fleet/machinedeployments/work-md-0";
const KCP_ID = "KubeadmControlPlane/fleet/work-control-plane";
const MD_ID = "MachineDeployment/fleet/work-md-0";

type CapiStep = ControlPlaneUpgradeStep | WorkersUpgradeStep | TopologyScaleStep;

interface Versioned {
  metadata: { generation?: number };
  spec: { version?: string; replicas?: number; template?: { spec?: { version?: string } } };
  status?: { version?: string; replicas?: number; readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
}

let root: string;
let state: SandboxState;
let kubeconfig: string;
let env: NodeJS.ProcessEnv;
let mgmt: KubeClients;
let work: KubeClients;
const rests: KubeRest[] = [];
const servers: net.Server[] = [];

function rest(context: string, file = kubeconfig): KubeRest {
  const client = new KubeRest(loadKubeConfig(file, context), { cluster: context });
  rests.push(client);
  return client;
}

/** A step context for capi-work whose log lines go to `lines`. */
function context(lines: string[], options: { management?: KubeRest; timeoutMs?: number } = {}): ClusterAPIStepContext {
  return {
    cluster: "capi-work",
    provider: { context: "capi-mgmt", namespace: "fleet", name: "work" },
    management: options.management ?? rest("capi-mgmt"),
    workload: rest("capi-work"),
    timeoutMs: options.timeoutMs ?? 120_000,
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
  };
}

async function plan(fleet = FLEET): Promise<ClusterPlan> {
  const result = await planFleet({ source: { fleet }, clusters: [], env, clusterTimeoutMs: 60_000, now: new Date("2026-03-02T10:00:00Z") });
  if (!result.ok) throw new Error(`fleet invalid: ${result.errors.map((e) => e.message).join("; ")}`);
  const cluster = result.plan.clusters[0];
  if (!cluster) throw new Error("no cluster planned");
  return cluster;
}

async function get(path: string): Promise<Versioned> {
  const object = await rest("capi-mgmt").get<Versioned>(path);
  if (!object) throw new Error(`${path} not found`);
  return object;
}

async function changes(): Promise<ClusterAPIChange[]> {
  return readClusterAPIChanges(mgmt.core, "fleet");
}

/**
 * A TCP proxy on 127.0.0.1 in front of capi-mgmt's API server that starts listening only after
 * `downMs`: until then connections are refused, as by an API server being restarted. Returns a
 * kubeconfig whose capi-mgmt points at it (TLS still verified: the serving certificate names 127.0.0.1).
 */
async function flakyManagement(downMs: number): Promise<string> {
  const [port = 0] = await freePorts(1);
  const target = state.clusters.find((c) => c.name === "capi-mgmt")?.apiserverPort ?? 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  servers.push(server);
  setTimeout(() => server.listen(port, "127.0.0.1"), downMs);
  const config = parse(await fs.readFile(kubeconfig, "utf8")) as { clusters: { name: string; cluster: { server: string } }[] };
  for (const c of config.clusters) if (c.name === "capi-mgmt") c.cluster.server = `https://127.0.0.1:${port}`;
  const file = path.join(root, "flaky-kubeconfig");
  await fs.writeFile(file, stringify(config), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-capi-upgrade-"));
  state = await sandboxUp({ root, name: NAME, mode: "full", from: FIXTURE, progress: () => undefined });
  kubeconfig = sandboxLayout(root, NAME).kubeconfig;
  env = { ...process.env, KUBECONFIG: kubeconfig };
  mgmt = clientsFor(loadKubeConfig(kubeconfig, "capi-mgmt"));
  work = clientsFor(loadKubeConfig(kubeconfig, "capi-work"));
}, 600_000);

afterAll(async () => {
  for (const server of servers) server.close();
  for (const client of rests) client.close();
  await sandboxDown(root, NAME);
  await fs.rm(root, { recursive: true, force: true });
}, 120_000);

describe("Cluster API driver (own sandbox: capi-mgmt manages capi-work)", () => {
  it("plans the ladder, the workers after the control plane, and the scale", async () => {
    const cluster = await plan();
    expect(cluster.status).toBe("changes");
    expect(cluster.steps.map((s) => s.id)).toEqual([
      `capi-work/controlPlane.upgrade/${MID}`,
      "capi-work/controlPlane.upgrade/1.35.4",
      "capi-work/workers.upgrade/1.35.4",
      "capi-work/topology.scale/3",
    ]);
  });

  it("refuses steps that break the skew policy before patching anything", async () => {
    const before = [await get(KCP_PATH), await get(MD_PATH)];
    const base = { state: "pending" as const, summary: "" };
    const refused: [CapiStep, RegExp][] = [
      [{ ...base, id: "x/controlPlane.upgrade/1.35.4", kind: "controlPlane.upgrade", from: "1.33.7", to: "1.35.4", targets: ["fleet/work-control-plane"] }, /machines run v1\.33\.7; v1\.35\.4 would skip 1 minor version/],
      [{ ...base, id: "x/workers.upgrade/1.34.0", kind: "workers.upgrade", from: "1.33.7", to: "1.34.0", targets: ["work-md-0"], batchSize: 1 }, /v1\.34\.0 is newer than the control plane/],
      [{ ...base, id: "x/controlPlane.upgrade/1.33.5", kind: "controlPlane.upgrade", from: "1.33.7", to: "1.33.5", targets: ["fleet/work-control-plane"] }, /would be a downgrade/],
      [{ ...base, id: "x/topology.scale/2", kind: "topology.scale", from: 1, to: 2 }, /must be odd/],
      [{ ...base, id: "x/controlPlane.upgrade/1.34.0", kind: "controlPlane.upgrade", from: "1.33.7", to: "1.34.0", targets: ["fleet/someone-else"] }, /names fleet\/someone-else/],
    ];
    for (const [step, reason] of refused) {
      const error = await executeClusterAPIStep(context([]), step).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, step.id).toBeInstanceOf(ClusterAPIStepError);
      expect((error as ClusterAPIStepError).phase).toBe("guard");
      expect((error as ClusterAPIStepError).reason).toBe("ApplyFailed");
      expect((error as Error).message).toMatch(reason);
      expect((error as Error).message).toMatch(/nothing was changed$/);
    }
    // Nothing was patched: same generations, same spec, and no machine changed.
    expect([await get(KCP_PATH), await get(MD_PATH)].map((o) => [o.metadata.generation, o.spec])).toEqual(before.map((o) => [o.metadata.generation, o.spec]));
    expect(await changes()).toEqual([]);
  });

  it("converges version and replica changes in the right order, riding out an unreachable management cluster and a timeout", async () => {
    const steps = (await plan()).steps;
    const lines: string[] = [];
    const timings: string[] = [];
    for (const step of steps) {
      if (step.kind !== "controlPlane.upgrade" && step.kind !== "workers.upgrade" && step.kind !== "topology.scale") throw new Error(`unexpected ${step.kind}`);
      const started = performance.now();
      if (step.id.endsWith(`controlPlane.upgrade/${MID}`)) {
        // The management cluster refuses connections for the first 2 s: retried, not failed.
        const flaky = await flakyManagement(2_000);
        const detail = await executeClusterAPIStep(context(lines, { management: rest("capi-mgmt", flaky) }), step);
        expect(detail.startsWith(`KubeadmControlPlane fleet/work-control-plane converged at v${MID}`), detail).toBe(true);
        expect(lines.some((l) => /ECONNREFUSED.*retrying until the step's timeout/.test(l)), lines.join("\n")).toBe(true);
      } else if (step.kind === "topology.scale") {
        // Too short for two new machines: fails naming what it waited for; the next run only waits.
        const error = await executeClusterAPIStep(context(lines, { timeoutMs: 1_500 }), step).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ClusterAPIStepError);
        expect((error as ClusterAPIStepError).reason).toBe("HealthTimeout");
        expect((error as Error).message).toMatch(/^capi-mgmt:KubeadmControlPlane\.controlplane\.x-k8s\.io\/fleet\/work-control-plane: timed out after 2 s waiting for 3 replicas, every one updated and ready; last seen: status\.version v1\.35\.4, [1-3] replicas? \(spec\.replicas 3\)|last seen: status\.version v1\.35\.4, 3\/3 replicas, [0-3] updated, [0-2] ready/);
        const detail = await executeClusterAPIStep(context(lines), step);
        expect(detail).toMatch(/^KubeadmControlPlane fleet\/work-control-plane at 3 replicas \(set by an earlier run\), all updated and ready/);
        expect(lines.some((l) => l.includes("spec.replicas is already 3 (set by an earlier run): waiting for the rollout"))).toBe(true);
      } else {
        const detail = await executeClusterAPIStep(context(lines), step);
        expect(detail).toMatch(/v1\.35\.4/);
      }
      timings.push(`${step.id}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    console.log(`step timings:\n  ${timings.join("\n  ")}\nprogress:\n  ${lines.join("\n  ")}`);

    const records = await changes();
    const summary = records.map((r) => `${r.object} ${r.change} ${r.machine} ${r.from ?? "-"} → ${r.to ?? "-"}`);
    expect(summary).toEqual([
      `${KCP_ID} upgrade capi-work-cp-1 v1.33.7 → v${MID}`,
      `${KCP_ID} upgrade capi-work-cp-1 v${MID} → v1.35.4`,
      `${MD_ID} upgrade capi-work-worker-1 v1.33.7 → v1.35.4`,
      `${MD_ID} upgrade capi-work-worker-2 v1.33.7 → v1.35.4`,
      // New control-plane machines go to the zones the control plane uses least.
      `${KCP_ID} create capi-work-cp-2 - → v1.35.4`,
      `${KCP_ID} create capi-work-cp-3 - → v1.35.4`,
    ]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // One machine change after another: the record times never go back (order, not wall time).
    for (const [a, b] of records.slice(0, -1).map((r, i) => [r, records[i + 1]] as const)) {
      expect(Date.parse(b?.at ?? "")).toBeGreaterThanOrEqual(Date.parse(a.at));
    }

    // The workload cluster shows it: every Node and static pod at v1.35.4, three control-plane Nodes.
    const nodes = (await work.core.listNode()).items;
    expect(nodes.map((n) => [n.metadata?.name, n.status?.nodeInfo?.kubeletVersion, n.metadata?.labels?.["topology.kubernetes.io/zone"]]).sort()).toEqual([
      ["capi-work-cp-1", "v1.35.4", "zone-a"],
      ["capi-work-cp-2", "v1.35.4", "zone-b"],
      ["capi-work-cp-3", "v1.35.4", "zone-c"],
      ["capi-work-worker-1", "v1.35.4", "zone-b"],
      ["capi-work-worker-2", "v1.35.4", "zone-c"],
    ]);
    const apiservers = (await work.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "component=kube-apiserver" })).items;
    expect(apiservers.map((p) => [p.spec?.nodeName, p.spec?.containers[0]?.image]).sort()).toEqual(
      ["capi-work-cp-1", "capi-work-cp-2", "capi-work-cp-3"].map((n) => [n, "registry.k8s.io/kube-apiserver:v1.35.4"]),
    );
    const kcp = await get(KCP_PATH);
    expect(kcp.status).toMatchObject({ version: "v1.35.4", replicas: 3, readyReplicas: 3, updatedReplicas: 3, observedGeneration: kcp.metadata.generation });

    // A fresh plan has nothing left to do.
    const after = await plan();
    expect([after.status, after.steps]).toEqual(["in-sync", []]);
  });

  it("a step that already converged reports that and changes nothing", async () => {
    const before = await changes();
    const lines: string[] = [];
    const step: ControlPlaneUpgradeStep = {
      id: "capi-work/controlPlane.upgrade/1.35.4",
      kind: "controlPlane.upgrade",
      state: "pending",
      summary: "",
      from: "1.34.0",
      to: "1.35.4",
      targets: ["fleet/work-control-plane"],
    };
    expect(await executeClusterAPIStep(context(lines), step)).toMatch(/^KubeadmControlPlane fleet\/work-control-plane already at spec\.version v1\.35\.4 and converged .*nothing to do$/);
    const workers: WorkersUpgradeStep = { ...step, id: "capi-work/workers.upgrade/1.35.4", kind: "workers.upgrade", targets: ["work-md-0"], batchSize: 1 };
    expect(await executeClusterAPIStep(context(lines), workers)).toMatch(/work-md-0 already converged/);
    expect(await changes()).toEqual(before);
  });

  it("bosun apply --yes upgrades, then scales down, through the CLI", async () => {
    // The fleet one minor further on (1.36.1) and back to one control-plane replica.
    const fleet = path.join(root, "fleet-1.36");
    await fs.cp(FLEET, fleet, { recursive: true });
    const clusterFile = path.join(fleet, "clusters/capi-work.yaml");
    const text = (await fs.readFile(clusterFile, "utf8")).replace("replicas: 3", "replicas: 1").replace("zones: [zone-a, zone-b, zone-c]", "zones: [zone-a]");
    await fs.writeFile(clusterFile, text);
    await fs.writeFile(path.join(fleet, "fleet.yaml"), (await fs.readFile(path.join(fleet, "fleet.yaml"), "utf8")).replace('version: "1.35.4"', 'version: "1.36.1"'));
    expect((await plan(fleet)).steps.map((s) => s.id)).toEqual([
      "capi-work/controlPlane.upgrade/1.36.1",
      "capi-work/workers.upgrade/1.36.1",
      "capi-work/topology.scale/1",
    ]);
    const before = (await changes()).length;

    const started = performance.now();
    const result = await bosun(["apply", "--yes", "--fleet", fleet], { env });
    console.log(`bosun apply: exit ${result.exitCode} in ${((performance.now() - started) / 1000).toFixed(1)} s\n${result.stderr}\n${result.stdout}`);
    expect(result.exitCode, `${result.stderr}\n${result.stdout}`).toBe(0);

    const summary = (await changes()).slice(before).map((r) => `${r.object} ${r.change} ${r.machine} ${r.to ?? "-"}`);
    expect(summary).toEqual([
      `${KCP_ID} upgrade capi-work-cp-1 v1.36.1`,
      `${KCP_ID} upgrade capi-work-cp-2 v1.36.1`,
      `${KCP_ID} upgrade capi-work-cp-3 v1.36.1`,
      `${MD_ID} upgrade capi-work-worker-1 v1.36.1`,
      `${MD_ID} upgrade capi-work-worker-2 v1.36.1`,
      // Scale-down removes the newest machines.
      `${KCP_ID} delete capi-work-cp-3 -`,
      `${KCP_ID} delete capi-work-cp-2 -`,
    ]);
    const nodes = (await work.core.listNode()).items;
    expect(nodes.map((n) => [n.metadata?.name, n.status?.nodeInfo?.kubeletVersion]).sort()).toEqual([
      ["capi-work-cp-1", "v1.36.1"],
      ["capi-work-worker-1", "v1.36.1"],
      ["capi-work-worker-2", "v1.36.1"],
    ]);
    const staticPods = (await work.core.listNamespacedPod({ namespace: "kube-system", labelSelector: "tier=control-plane" })).items;
    expect([...new Set(staticPods.map((p) => p.spec?.nodeName))]).toEqual(["capi-work-cp-1"]);

    const after = await plan(fleet);
    expect([after.status, after.steps]).toEqual(["in-sync", []]);
  });
});
