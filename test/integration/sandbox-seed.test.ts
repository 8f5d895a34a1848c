/**
 * Seeding and the node agent on the shared sandbox: the cluster looks like kubeadm's through the API
 * (kubectl included), a completed upgrade Job moves its node to the target version, and a node marked to
 * fail makes its upgrade Job fail.
 */
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubectl } from "../../src/tools/kubectl.js";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { NODE_UPGRADE_LABEL, TARGET_VERSION_LABEL } from "../../src/constants.js";
import { FAIL_UPGRADE_ANNOTATION, readUpgradeRecords } from "../../src/sandbox/agent.js";
import { eventually, sandboxCluster, sharedSandbox } from "../support/sandbox.js";

describe("kubeadm-shaped seeding", () => {
  const { core } = sandboxCluster("alpha");

  it("shows the seeded versions, roles and zones through kubectl get nodes", async () => {
    const stdout = await kubectl(
      { kubeconfig: sharedSandbox().kubeconfig, context: "alpha" },
      ["get", "nodes", "--no-headers", "-L", "topology.kubernetes.io/zone"],
      { kubectl: sharedSandbox().binaries.kubectl },
    );
    const rows = stdout.trim().split("\n").map((line) => line.trim().split(/\s+/));
    const byName: Record<string, { status?: string; roles?: string; version?: string; zone?: string }> = Object.fromEntries(
      rows.map((r) => [r[0] ?? "", { status: r[1], roles: r[2], version: r[4], zone: r[5] }]),
    );
    expect(Object.keys(byName).sort()).toEqual(["alpha-cp-1", "alpha-cp-2", "alpha-cp-3", "alpha-worker-1", "alpha-worker-2"]);
    expect(byName["alpha-cp-2"]).toEqual({ status: "Ready", roles: "control-plane", version: "v1.34.4", zone: "zone-b" });
    expect(byName["alpha-worker-1"]).toMatchObject({ roles: "<none>", zone: "zone-a" });
  });

  it("honours a per-node kubelet version (seeded skew)", async () => {
    const beta = sandboxCluster("beta").core;
    const worker = await beta.readNode({ name: "beta-worker-1" });
    expect(worker.status?.nodeInfo?.kubeletVersion).toBe("v1.34.4");
  });

  it("creates kubeadm-config with the cluster's version, endpoint and etcd", async () => {
    const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
    const config = parse(cm.data?.ClusterConfiguration ?? "") as Record<string, unknown>;
    expect(config).toMatchObject({ kind: "ClusterConfiguration", controlPlaneEndpoint: "api.alpha.test:6443", etcd: { local: {} } });
    expect(config.kubernetesVersion).toMatch(/^v1\.3[45]\.4$/);
  });

  it("creates static control-plane pods per control-plane node with images of that version", async () => {
    const pods = await core.listNamespacedPod({ namespace: "kube-system", labelSelector: "tier=control-plane" });
    const byComponent = new Map<string, string[]>();
    for (const pod of pods.items) {
      const component = pod.metadata?.labels?.component ?? "";
      byComponent.set(component, [...(byComponent.get(component) ?? []), pod.spec?.nodeName ?? ""]);
      expect(pod.metadata?.annotations?.["kubernetes.io/config.mirror"]).toBeTruthy();
    }
    for (const component of ["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"]) {
      expect(byComponent.get(component)?.sort()).toEqual(["alpha-cp-1", "alpha-cp-2", "alpha-cp-3"]);
    }
    const apiserver = await core.readNamespacedPod({ name: "kube-apiserver-alpha-cp-3", namespace: "kube-system" });
    expect(apiserver.spec?.containers[0]?.image).toBe("registry.k8s.io/kube-apiserver:v1.34.4");
  });
});

describe("sandbox node agent", () => {
  const { core, batch } = sandboxCluster("alpha");

  async function upgradeJob(node: string, version: string): Promise<string> {
    const name = `upgrade-${node}-${Date.now()}`;
    const labels = { [NODE_UPGRADE_LABEL]: node, [TARGET_VERSION_LABEL]: `v${version}` };
    await batch.createNamespacedJob({
      namespace: "kube-system",
      body: {
        metadata: { name, labels },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels },
            spec: {
              nodeName: node,
              restartPolicy: "Never",
              tolerations: [{ operator: "Exists" }],
              containers: [{ name: "upgrade", image: "registry.k8s.io/pause:3.10" }],
            },
          },
        },
      },
    });
    return name;
  }

  async function jobOutcome(name: string): Promise<"Complete" | "Failed"> {
    return eventually(`job ${name} finished`, async () => {
      const job = await batch.readNamespacedJob({ name, namespace: "kube-system" });
      const done = job.status?.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
      return done?.type as "Complete" | "Failed" | undefined;
    });
  }

  it("moves a node, its static pods and kubeadm-config to the target version when its upgrade Job completes", async () => {
    const job = await upgradeJob("alpha-cp-1", "1.35.4");
    expect(await jobOutcome(job)).toBe("Complete");
    // The agent writes its record last, after the node, its static pods and kubeadm-config: once the
    // record is there, everything else must be too.
    const records = await eventually("upgrade record", async () => {
      const all = (await readUpgradeRecords(core)).filter((r) => r.job === job);
      return all.length > 0 ? all : undefined;
    });
    const node = await core.readNode({ name: "alpha-cp-1" });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe("v1.35.4");
    const pod = await core.readNamespacedPod({ name: "kube-apiserver-alpha-cp-1", namespace: "kube-system" });
    expect(pod.spec?.containers[0]?.image).toBe("registry.k8s.io/kube-apiserver:v1.35.4");
    const untouched = await core.readNamespacedPod({ name: "kube-apiserver-alpha-cp-2", namespace: "kube-system" });
    expect(untouched.spec?.containers[0]?.image).toBe("registry.k8s.io/kube-apiserver:v1.34.4");
    const cm = await core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" });
    expect((parse(cm.data?.ClusterConfiguration ?? "") as { kubernetesVersion: string }).kubernetesVersion).toBe("v1.35.4");
    expect(records).toEqual([
      expect.objectContaining({ node: "alpha-cp-1", role: "control-plane", from: "v1.34.4", to: "v1.35.4" }),
    ]);
  });

  it("fails the upgrade Job of a node annotated to fail, and leaves the node's version alone", async () => {
    await core.patchNode(
      { name: "alpha-worker-2", body: { metadata: { annotations: { [FAIL_UPGRADE_ANNOTATION]: "true" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const job = await upgradeJob("alpha-worker-2", "1.35.4");
    expect(await jobOutcome(job)).toBe("Failed");
    const node = await core.readNode({ name: "alpha-worker-2" });
    expect(node.status?.nodeInfo?.kubeletVersion).toBe("v1.34.4");
    expect((await readUpgradeRecords(core)).some((r) => r.job === job)).toBe(false);
    await core.patchNode(
      { name: "alpha-worker-2", body: { metadata: { annotations: { [FAIL_UPGRADE_ANNOTATION]: null } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  });
});
