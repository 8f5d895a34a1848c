/**
 * The pre-upgrade checks against a real API server (issue 15), in a lite sandbox of its own whose
 * kube-apiserver serves the deprecated networking.k8s.io/v1beta1 (`runtimeConfig`), seeded as an HA
 * kubeadm cluster with two control-plane nodes in one zone and one minor below its target:
 *
 * - the plan shows the zone-spread finding and, with nothing else wrong, a pending rung;
 * - a fail-closed ValidatingWebhookConfiguration whose Service has no endpoint blocks every upgrade step,
 *   naming it; with a ready endpoint in the Service's EndpointSlice it passes;
 * - once a client requested servicecidrs through networking.k8s.io/v1beta1 (removed in 1.37, as the API
 *   server's own `apiserver_requested_deprecated_apis` says), the rung to 1.37 is blocked, naming it;
 * - a chart whose `kubeVersion` excludes 1.37 blocks that rung with helm's message, one that allows it not;
 * - a Helm release whose manifest holds an object in networking.k8s.io/v1beta1 blocks it, naming the object;
 * - a PodDisruptionBudget allowing no disruption on a drained node is a finding;
 * - the drivers' check right before a rung starts reads the same inputs again.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { soakProblems } from "../../src/apply/soak-health.js";
import { checkRungBeforeStart } from "../../src/drivers/rung-checks.js";
import { BosunError } from "../../src/errors.js";
import { loadKubeConfig } from "../../src/kube/config.js";
import { KubeRest } from "../../src/kube/rest.js";
import type { Plan } from "../../src/plan/types.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { bosun, sharedSandbox } from "../support/sandbox.js";

const NAME = "preflight";
const CLUSTER = "pf";
let root: string;
let fleet: string;
let rest: KubeRest;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-preflight-"));
  fleet = path.join(root, "fleet");
  await fs.mkdir(path.join(fleet, "clusters"), { recursive: true });
  await fs.writeFile(
    path.join(fleet, "sandbox.yaml"),
    [
      "apiVersion: bosun.dev/v1alpha1",
      "kind: Sandbox",
      "clusters:",
      `  - name: ${CLUSTER}`,
      '    kubernetesVersion: "1.36.3"',
      "    controlPlaneEndpoint: api.pf.example.internal:6443",
      '    runtimeConfig: ["networking.k8s.io/v1beta1=true"]',
      "    nodes:",
      "      - { name: pf-cp-1, role: control-plane, zone: zone-a }",
      "      - { name: pf-cp-2, role: control-plane, zone: zone-a }",
      "      - { name: pf-cp-3, role: control-plane, zone: zone-c }",
      "      - { name: pf-worker-1, role: worker, zone: zone-b }",
      "",
    ].join("\n"),
  );
  await fs.writeFile(
    path.join(fleet, "fleet.yaml"),
    "apiVersion: bosun.dev/v1alpha1\nkind: Fleet\nmetadata: { name: preflight }\nspec:\n  defaults:\n    provider: { kubeadm: { packageManager: apt } }\n",
  );
  await fs.writeFile(
    path.join(fleet, "clusters", `${CLUSTER}.yaml`),
    [
      "apiVersion: bosun.dev/v1alpha1",
      "kind: Cluster",
      `metadata: { name: ${CLUSTER} }`,
      "spec:",
      `  connection: { context: ${CLUSTER} }`,
      '  kubernetes: { version: "1.37.2" }',
      "  topology:",
      "    controlPlane: { replicas: 3, zones: [zone-a, zone-b, zone-c] }",
      "    endpoint: api.pf.example.internal:6443",
      "",
    ].join("\n"),
  );
  await sandboxUp({ root, name: NAME, mode: "lite", from: fleet, progress: () => undefined });
  const kubeconfig = sandboxLayout(root, NAME).kubeconfig;
  rest = new KubeRest(loadKubeConfig(kubeconfig, CLUSTER), { cluster: CLUSTER });
  env = { ...process.env, KUBECONFIG: kubeconfig, BOSUN_CACHE_DIR: path.join(root, "cache"), BOSUN_HELM: sharedSandbox().binaries.helm };
}, 300_000);

afterAll(async () => {
  rest.close();
  await sandboxDown(root, NAME);
  await fs.rm(root, { recursive: true, force: true });
}, 120_000);

async function planned(): Promise<Plan["clusters"][number]> {
  const result = await bosun(["plan", "--fleet", fleet, "-o", "json"], { env });
  expect(result.stderr).not.toMatch(/internal error/);
  if (result.stdout === "") throw new Error(`bosun plan printed no plan (exit ${result.exitCode}): ${result.stderr}`);
  const plan = JSON.parse(result.stdout) as Plan;
  const cluster = plan.clusters.find((c) => c.name === CLUSTER);
  if (!cluster) throw new Error(`no plan for ${CLUSTER}: ${result.stdout.slice(0, 500)}`);
  return cluster;
}

const upgradeSteps = (cluster: Plan["clusters"][number]) => cluster.steps.filter((s) => s.kind === "controlPlane.upgrade" || s.kind === "workers.upgrade");

/** A local chart with one ConfigMap and the given `kubeVersion` constraint. */
async function writeChart(name: string, kubeVersion: string): Promise<void> {
  const dir = path.join(fleet, "charts", name);
  await fs.mkdir(path.join(dir, "templates"), { recursive: true });
  await fs.writeFile(path.join(dir, "Chart.yaml"), `apiVersion: v2\nname: ${name}\nversion: 0.1.0\nkubeVersion: "${kubeVersion}"\n`);
  await fs.writeFile(path.join(dir, "templates", "configmap.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`);
}

/** A Helm release record in `default` as Helm writes it: base64 of gzipped JSON in a helm.sh/release.v1 Secret. */
async function writeReleaseRecord(name: string, manifest: string): Promise<void> {
  const release = { name, namespace: "default", version: 1, info: { status: "deployed" }, chart: { metadata: { name, version: "0.1.0" } }, config: {}, manifest };
  await rest.create("/api/v1/namespaces/default/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    type: "helm.sh/release.v1",
    metadata: { name: `sh.helm.release.v1.${name}.v1`, labels: { owner: "helm", name, status: "deployed", version: "1" } },
    data: { release: Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString("base64")).toString("base64") },
  });
}

describe("pre-upgrade checks on a real API server", () => {
  it("shows the zone-spread finding and plans the rung when nothing else is wrong", async () => {
    const cluster = await planned();
    const spread = cluster.findings.filter((f) => f.kind === "topology.zone-spread");
    expect(spread.map((f) => f.message)).toEqual([
      "control-plane nodes pf-cp-1, pf-cp-2 are all in zone zone-a: losing that zone loses 2 of 3 etcd members, and with them quorum; the spec names 3 zones for 3 nodes",
    ]);
    expect(spread[0]?.runbook?.[0]).toContain("zone zone-b");
    expect(upgradeSteps(cluster).map((s) => `${s.kind} ${s.state}`)).toEqual(["controlPlane.upgrade pending", "workers.upgrade pending"]);
  });

  it("blocks every upgrade step for a fail-closed webhook without endpoints, and passes once it has one", async () => {
    await rest.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "pf-hooks" } });
    await rest.create("/api/v1/namespaces/pf-hooks/services", { apiVersion: "v1", kind: "Service", metadata: { name: "gate" }, spec: { ports: [{ port: 443, targetPort: 8443 }] } });
    await rest.create("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "pf-gate" },
      webhooks: [
        {
          name: "gate.pf.example",
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          clientConfig: { service: { namespace: "pf-hooks", name: "gate", path: "/validate" } },
          // Matches nothing the test or the sandbox writes, so the API server keeps working.
          objectSelector: { matchLabels: { "bosun-test/never": "true" } },
          rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }],
        },
      ],
    });
    const blocked = await planned();
    expect(blocked.status).toBe("blocked");
    const steps = upgradeSteps(blocked);
    expect(steps.map((s) => s.state)).toEqual(["blocked", "blocked"]);
    expect(steps[0]?.reason).toContain("ValidatingWebhookConfiguration pf-gate (webhook gate.pf.example → Service pf-hooks/gate)");

    await rest.create("/apis/discovery.k8s.io/v1/namespaces/pf-hooks/endpointslices", {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "gate-1", labels: { "kubernetes.io/service-name": "gate", "endpointslice.kubernetes.io/managed-by": "bosun-test" } },
      addressType: "IPv4",
      ports: [{ port: 8443, protocol: "TCP" }],
      endpoints: [{ addresses: ["10.0.0.5"], conditions: { ready: true } }],
    });
    expect(upgradeSteps(await planned()).map((s) => s.state)).toEqual(["pending", "pending"]);
  });

  it("blocks the rung to 1.37 once a client requested an API 1.37 removes, naming it", async () => {
    // A client still on the deprecated version: the API server counts it in its own metric.
    await rest.list("/apis/networking.k8s.io/v1beta1/servicecidrs");
    const cluster = await planned();
    const [controlPlane, workers] = upgradeSteps(cluster);
    expect(controlPlane).toMatchObject({ kind: "controlPlane.upgrade", to: "1.37.2", state: "blocked" });
    expect(controlPlane?.reason).toContain("networking.k8s.io/v1beta1 servicecidrs (removed in 1.37) was requested since the API server started, and 1.37 no longer serves it");
    expect(workers).toMatchObject({ kind: "workers.upgrade", state: "blocked" });
  });

  it("blocks the rung to a version a chart's kubeVersion excludes, with the chart's message", async () => {
    await writeChart("before-137", "<1.37.0-0");
    await writeChart("any-recent", ">=1.30.0-0");
    const file = path.join(fleet, "clusters", `${CLUSTER}.yaml`);
    await fs.appendFile(
      file,
      [
        "  addons:",
        "    - { name: before-137, namespace: default, helm: { chart: charts/before-137 } }",
        "    - { name: any-recent, namespace: default, helm: { chart: charts/any-recent } }",
        "",
      ].join("\n"),
    );
    const cluster = await planned();
    // Both render for the cluster as it is: they are planned for install.
    expect(cluster.steps.filter((s) => s.kind === "addon.install").map((s) => `${s.id} ${s.state}`)).toEqual([`${CLUSTER}/addon.install/before-137 pending`, `${CLUSTER}/addon.install/any-recent pending`]);
    const [controlPlane] = upgradeSteps(cluster);
    expect(controlPlane?.state).toBe("blocked");
    expect(controlPlane?.reason).toMatch(/add-on before-137 \(chart before-137 0\.1\.0\) does not render for Kubernetes 1\.37\.2: helm exited with code 1: Error: chart requires kubeVersion: <1\.37\.0-0 which is incompatible with Kubernetes v1\.37\.2/);
    expect(controlPlane?.reason).not.toContain("any-recent");
  });

  it("blocks the rung to 1.37 for a Helm release whose manifest holds an object in an API 1.37 removes", async () => {
    await writeReleaseRecord("cidrs", "---\napiVersion: networking.k8s.io/v1beta1\nkind: ServiceCIDR\nmetadata:\n  name: extra-cidr\nspec:\n  cidrs: [10.200.0.0/16]\n");
    const [controlPlane] = upgradeSteps(await planned());
    expect(controlPlane?.state).toBe("blocked");
    expect(controlPlane?.reason).toContain("ServiceCIDR extra-cidr of Helm release default/cidrs (networking.k8s.io/v1beta1, removed in 1.37): written in an API version 1.37 no longer serves");
    await rest.remove("/api/v1/namespaces/default/secrets/sh.helm.release.v1.cidrs.v1");
  });

  it("reports a PodDisruptionBudget allowing no disruption on a node the upgrade drains, before anything is cordoned", async () => {
    // No controller-manager makes the namespace's default ServiceAccount in a lite sandbox; pods need it.
    await rest.create("/api/v1/namespaces/default/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } });
    await rest.create("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "db-0", labels: { app: "db" } },
      spec: { nodeName: "pf-worker-1", containers: [{ name: "db", image: "registry.k8s.io/pause:3.10" }] },
    });
    await rest.create("/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "db" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "db" } } },
    });
    // No disruption controller runs in a lite sandbox: its status is what the controller would write.
    await rest.call({
      method: "PATCH",
      path: "/apis/policy/v1/namespaces/default/poddisruptionbudgets/db/status",
      contentType: "application/merge-patch+json",
      body: JSON.stringify({ status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, observedGeneration: 1 } }),
    });
    const cluster = await planned();
    expect(cluster.findings.filter((f) => f.kind === "upgrade.drain-blocked").map((f) => f.message)).toEqual([
      "PodDisruptionBudget default/db allows no disruption now, and its pods run on pf-worker-1, which the upgrade drains: the drain will stop there until the budget allows an eviction",
    ]);
    await rest.remove("/apis/policy/v1/namespaces/default/poddisruptionbudgets/db");
    await rest.remove("/api/v1/namespaces/default/pods/db-0");
  });

  it("finds what a soak must stop for: a workload of a Helm release gone or not ready, a node not Ready", async () => {
    expect(await soakProblems(rest)).toEqual([]);
    await writeReleaseRecord("web", "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n");
    expect(await soakProblems(rest)).toEqual(["Deployment default/web is gone"]);
    // No controller runs in a lite sandbox: the Deployment never reports itself ready.
    await rest.create("/apis/apps/v1/namespaces/default/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "registry.k8s.io/pause:3.10" }] } } },
    });
    const [notReady] = await soakProblems(rest);
    expect(notReady).toMatch(/^Deployment default\/web is not ready: /);
    await rest.call({
      method: "PATCH",
      path: "/api/v1/nodes/pf-worker-1/status",
      contentType: "application/strategic-merge-patch+json",
      body: JSON.stringify({ status: { conditions: [{ type: "Ready", status: "False", reason: "KubeletDown", message: "test", lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }] } }),
    });
    expect((await soakProblems(rest))[0]).toBe("node pf-worker-1 is not Ready");
  });

  it("asks the same checks again right before a rung starts, as the drivers do", async () => {
    const refusal = await checkRungBeforeStart(rest, undefined, "pf/controlPlane.upgrade/1.37.2", "1.37.2", "pf:").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(BosunError);
    expect((refusal as BosunError).phase).toBe("guard");
    expect((refusal as Error).message).toMatch(/^pf\/controlPlane\.upgrade\/1\.37\.2: refused before touching anything: networking\.k8s\.io\/v1beta1 servicecidrs \(removed in 1\.37\)/);
    // A patch rung within 1.36 removes nothing: it may start.
    await expect(checkRungBeforeStart(rest, undefined, "pf/controlPlane.upgrade/1.36.5", "1.36.5", "pf:")).resolves.toBeUndefined();
    // The webhook's endpoint goes away after the plan: the rung is refused naming it.
    await rest.remove("/apis/discovery.k8s.io/v1/namespaces/pf-hooks/endpointslices/gate-1");
    await expect(checkRungBeforeStart(rest, undefined, "pf/controlPlane.upgrade/1.36.5", "1.36.5", "pf:")).rejects.toThrow(/ValidatingWebhookConfiguration pf-gate \(webhook gate\.pf\.example → Service pf-hooks\/gate\)/);
  });
});
