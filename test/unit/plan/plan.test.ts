import fs from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { plan, planCluster } from "../../../src/plan/plan.js";
import { KUBERNETES_RELEASES } from "../../../src/plan/kubernetes-releases.js";
import type { ObservedCluster, ObservedKubeadm, ObservedReachable } from "../../../src/plan/observed.js";
import type { ClusterPlan, Finding, Step } from "../../../src/plan/types.js";
import { loadFleet } from "../../../src/spec/load.js";
import type { DesiredCluster, DesiredFleet } from "../../../src/spec/types.js";
import { backupInSync, change, clusterAPI, helmInSync, kubeadm, kustomizeInSync, observedCluster, type KubeadmShape } from "./observed-builder.js";

const REPO = path.resolve(import.meta.dirname, "../../..");
const GOLDEN = path.join(import.meta.dirname, "golden/fleet-example-seeded.json");
const NOW = "2026-11-23T12:00:00.000Z";
const CONTEXT = { source: { kind: "local", path: "fleet-example" } as const, revision: null, now: NOW };

let fleet: DesiredFleet;
beforeAll(async () => {
  const loaded = await loadFleet(path.join(REPO, "fleet-example"));
  if (!loaded.ok) throw new Error("fleet-example does not load");
  fleet = loaded.value;
});

function desired(name: string): DesiredCluster {
  const cluster = fleet.clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster ${name}`);
  return cluster;
}

/** Every add-on of a cluster observed as installed and in sync. */
function addonsInSync(name: string): ObservedReachable["addons"]["desired"] {
  return desired(name).addons.map((a) =>
    a.source.kind === "helm" ? helmInSync(a.name, a.namespace ?? a.name) : kustomizeInSync(a.name),
  );
}

function inventory(name: string): ObservedReachable["addons"]["installed"] {
  return desired(name).addons.map((a) => ({ name: a.name, kind: a.source.kind, namespace: a.namespace, objects: [] }));
}

/** The fleet exactly as its spec asks: every cluster at its version, add-ons and backups in sync. */
function convergedFleet(): ObservedCluster[] {
  return [
    observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.35.4"], workers: ["1.35.4", "1.35.4"], zones: ["eu-1a"], endpoint: "api.canary-1.example.internal:6443" }), addonsInSync("canary-1"), inventory("canary-1")),
    observedCluster("staging-eu-1", kubeadm("staging-eu-1", { controlPlane: ["1.35.4"], workers: ["1.35.4", "1.35.4"], zones: ["eu-1a"], endpoint: "api.staging-eu-1.example.internal:6443" }), addonsInSync("staging-eu-1"), inventory("staging-eu-1")),
    observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: ["1.34.4", "1.34.4", "1.34.4"], zones: ["eu-1a", "eu-1b", "eu-1c"], endpoint: "api.prod-eu-1.example.com:6443" }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")),
    observedCluster("prod-us-1", clusterAPI("prod-us-1", { version: "1.34.4", replicas: 1 }, [{ name: "fleet/prod-us-1-md-0", version: "1.34.4", replicas: 2 }]), addonsInSync("prod-us-1"), inventory("prod-us-1")),
  ];
}

function one(observed: ObservedCluster): ClusterPlan {
  return planCluster(desired(observed.name), observed, NOW);
}

function kinds(steps: readonly Step[]): string[] {
  return steps.map((s) => `${s.kind}${"to" in s && typeof s.to === "string" ? ` ${s.to}` : ""}${"addon" in s ? ` ${s.addon}` : ""} [${s.state}]`);
}

describe("plan", () => {
  it("is empty and in sync for a converged fleet, in rollout order", () => {
    const result = plan(fleet, convergedFleet(), CONTEXT);
    expect(result.clusters.map((c) => [c.name, c.wave, c.status])).toEqual([
      ["canary-1", "canary", "in-sync"],
      ["staging-eu-1", "staging", "in-sync"],
      ["prod-eu-1", "production", "in-sync"],
      ["prod-us-1", "production", "in-sync"],
    ]);
    expect(result.clusters.flatMap((c) => c.steps)).toEqual([]);
    expect(result.clusters.flatMap((c) => c.findings).filter((f) => f.kind.startsWith("topology."))).toEqual([]);
    expect(result.summary).toEqual({ clusters: { "in-sync": 4, changes: 0, blocked: 0, unreachable: 0, invalid: 0 }, steps: { pending: 0, blocked: 0, manual: 0 } });
  });

  it("is deterministic: the same inputs give byte-identical JSON", () => {
    const a = JSON.stringify(plan(fleet, convergedFleet(), CONTEXT));
    const b = JSON.stringify(plan(fleet, convergedFleet().reverse(), CONTEXT));
    expect(a).toBe(b);
  });

  it("plans the fleet-example as the sandbox seeds it (golden)", async () => {
    const fresh = (name: string): ObservedReachable["addons"]["desired"] =>
      desired(name).addons.map((a) =>
        a.source.kind === "helm"
          ? { name: a.name, kind: "helm", namespace: a.namespace ?? a.name, release: null, render: { ok: true, chart: a.name, chartVersion: "0.1.0", valuesDiff: null, objects: [change(`Deployment/${a.namespace ?? a.name}/${a.name}`, "create")], prune: [] } }
          : { name: a.name, kind: "kustomize", applied: false, render: { ok: true, objects: [change(`Namespace/${a.name}`, "create"), change(`ConfigMap/${a.name}/settings`, "create")], prune: [] } },
      );
    const absent = { present: false, lastSuccessfulTime: null, change: change("CronJob/kube-system/bosun-etcd-backup", "create") };
    const observed: ObservedCluster[] = [
      observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.34.4"], workers: ["1.34.4", "1.34.4"], zones: ["eu-1a", "eu-1b"], endpoint: "api.canary-1.example.internal:6443" }), fresh("canary-1"), [], absent),
      observedCluster("staging-eu-1", kubeadm("staging-eu-1", { controlPlane: ["1.33.13"], workers: ["1.33.13", "1.33.13"], zones: ["eu-1a", "eu-1b"], endpoint: "api.staging-eu-1.example.internal:6443" }), fresh("staging-eu-1"), [], absent),
      observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: ["1.34.4", "1.34.4", "1.34.4"], zones: ["eu-1a", "eu-1b", "eu-1c"], endpoint: "api.prod-eu-1.example.com:6443" }), fresh("prod-eu-1"), [], absent),
      { name: "prod-us-1", status: "unreachable", reason: "cluster prod-us-1: GET /api/v1/nodes: connect ECONNREFUSED 127.0.0.1:6443" },
    ];
    const text = `${JSON.stringify(plan(fleet, observed, CONTEXT), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === "1") await fs.writeFile(GOLDEN, text);
    expect(text).toBe(await fs.readFile(GOLDEN, "utf8"));
  });
});

describe("upgrades", () => {
  it("walks a kubeadm cluster two minors up, snapshot first, control plane before workers each rung", () => {
    const result = one(observedCluster("staging-eu-1", kubeadm("staging-eu-1", { controlPlane: ["1.33.13"], workers: ["1.33.13", "1.33.13"], zones: ["eu-1a", "eu-1b"], endpoint: "api.staging-eu-1.example.internal:6443" }), addonsInSync("staging-eu-1"), inventory("staging-eu-1")));
    expect(result.status).toBe("changes");
    // staging-eu-1 is "efficient": its workers skip 1.34 while kubelet skew allows it.
    expect(kinds(result.steps)).toEqual([
      "backup.snapshot [pending]",
      "controlPlane.upgrade 1.34.12 [pending]",
      "controlPlane.upgrade 1.35.4 [pending]",
      "workers.upgrade 1.35.4 [pending]",
    ]);
    // The intermediate rung is the latest 1.34 patch of the bundled release table, and the plan says so.
    expect(result.steps[1]).toMatchObject({ from: "1.33.13", to: "1.34.12", versionSource: "release-table" });
    expect(result.steps[1]?.summary).toContain(`1.33.13 → 1.34.12 (latest 1.34 patch, release table of ${KUBERNETES_RELEASES.retrieved})`);
    expect(result.steps[2]).toMatchObject({ from: "1.34.12", to: "1.35.4", versionSource: "kubernetes.version" });
    const workers = result.steps.at(-1);
    expect(workers).toMatchObject({ kind: "workers.upgrade", from: "1.33.13", targets: ["staging-eu-1-worker-1", "staging-eu-1-worker-2"], batchSize: 1 });
    expect(result.versions).toEqual({ desired: "1.35.4", controlPlane: { oldest: "1.33.13", newest: "1.33.13" }, workers: { oldest: "1.33.13", newest: "1.33.13" } });
  });

  it("moves workers at every rung under the strict policy", () => {
    const result = one(observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.33.2"], workers: ["1.33.2"] }), addonsInSync("canary-1"), inventory("canary-1")));
    expect(kinds(result.steps)).toEqual([
      "backup.snapshot [pending]",
      "controlPlane.upgrade 1.34.12 [pending]",
      "workers.upgrade 1.34.12 [pending]",
      "controlPlane.upgrade 1.35.4 [pending]",
      "workers.upgrade 1.35.4 [pending]",
    ]);
    expect(result.steps.map((s) => s.id)).toEqual([
      "canary-1/backup.snapshot/1.34.12",
      "canary-1/controlPlane.upgrade/1.34.12",
      "canary-1/workers.upgrade/1.34.12",
      "canary-1/controlPlane.upgrade/1.35.4",
      "canary-1/workers.upgrade/1.35.4",
    ]);
  });

  it("takes the cluster's upgrade.intermediateVersions over the release table, and says so", () => {
    const base = desired("canary-1");
    const result = planCluster(
      { ...base, upgrade: { ...base.upgrade, intermediateVersions: { "1.34": "1.34.7" } } },
      observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.33.2"], workers: ["1.33.2"] }), addonsInSync("canary-1"), inventory("canary-1")),
      NOW,
    );
    expect(kinds(result.steps)).toEqual([
      "backup.snapshot [pending]",
      "controlPlane.upgrade 1.34.7 [pending]",
      "workers.upgrade 1.34.7 [pending]",
      "controlPlane.upgrade 1.35.4 [pending]",
      "workers.upgrade 1.35.4 [pending]",
    ]);
    expect(result.steps[1]).toMatchObject({ versionSource: "upgrade.intermediateVersions" });
    expect(result.steps[1]?.summary).toContain("1.33.2 → 1.34.7 (the cluster's upgrade.intermediateVersions)");
  });

  it("goes to MINOR.0 for a minor the release table does not know, and says so", () => {
    const newest = Object.keys(KUBERNETES_RELEASES.latest).map((minor) => Number(minor.split(".")[1])).reduce((a, b) => Math.max(a, b));
    const base = desired("canary-1");
    const result = planCluster(
      { ...base, kubernetes: { version: `1.${newest + 2}.1` } },
      observedCluster("canary-1", kubeadm("canary-1", { controlPlane: [`1.${newest}.0`], workers: [`1.${newest}.0`] }), addonsInSync("canary-1"), inventory("canary-1")),
      NOW,
    );
    expect(result.steps[1]).toMatchObject({ kind: "controlPlane.upgrade", to: `1.${newest + 1}.0`, versionSource: "minor-zero" });
    expect(result.steps[1]?.summary).toContain(`1.${newest + 1}.0 is not in the release table of ${KUBERNETES_RELEASES.retrieved}`);
  });

  it("lists HA control-plane nodes in order as the targets of each control-plane step", () => {
    const result = planCluster(
      { ...desired("prod-eu-1"), kubernetes: { version: "1.35.1" } },
      observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: ["1.34.4"] }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")),
      NOW,
    );
    expect(result.steps[1]).toMatchObject({ kind: "controlPlane.upgrade", from: "1.34.4", to: "1.35.1", targets: ["prod-eu-1-cp-1", "prod-eu-1-cp-2", "prod-eu-1-cp-3"] });
  });

  it("refuses a downgrade and says why", () => {
    const result = one(observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.35.0", "1.35.0", "1.35.0"], workers: ["1.35.0"] }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")));
    expect(result.status).toBe("blocked");
    expect(result.reason).toMatch(/upgrade refused: .*1\.35\.0.*newer than the desired 1\.34\.4/);
    expect(result.steps).toEqual([]);
  });

  it("blocks upgrade steps while a control-plane node is not Ready, and reports it", () => {
    const result = one(observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.34.4"], workers: ["1.34.4"], zones: ["eu-1a"], endpoint: "api.canary-1.example.internal:6443", notReady: ["canary-1-cp-1"], cordoned: ["canary-1-worker-1"] }), addonsInSync("canary-1"), inventory("canary-1")));
    expect(result.status).toBe("blocked");
    expect(result.steps.every((s) => s.state === "blocked")).toBe(true);
    expect(result.reason).toContain("control-plane node canary-1-cp-1 not Ready");
    expect(result.findings.map((f) => f.kind)).toEqual(["node.not-ready", "node.cordoned"]);
  });

  it("has no snapshot step when the policy does not ask for one", () => {
    const d = desired("canary-1");
    const etcd = d.backup.etcd;
    if (!etcd) throw new Error("canary-1 has backups");
    const result = planCluster({ ...d, backup: { etcd: { ...etcd, beforeUpgrade: false } } }, observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.35.0"], workers: [] }), addonsInSync("canary-1"), inventory("canary-1")), NOW);
    expect(kinds(result.steps)).toEqual(["controlPlane.upgrade 1.35.4 [pending]"]);
  });

  it("upgrades a Cluster API cluster through its KubeadmControlPlane, then its MachineDeployments", () => {
    const result = planCluster(
      { ...desired("prod-us-1"), kubernetes: { version: "1.35.2" } },
      observedCluster("prod-us-1", clusterAPI("prod-us-1", { version: "1.34.4", replicas: 1 }, [{ name: "fleet/prod-us-1-md-0", version: "1.34.4", replicas: 2 }, { name: "fleet/prod-us-1-md-1", version: "1.34.4", replicas: 1 }]), addonsInSync("prod-us-1"), inventory("prod-us-1")),
      NOW,
    );
    expect(result.steps).toMatchObject([
      { kind: "backup.snapshot" },
      { kind: "controlPlane.upgrade", to: "1.35.2", targets: ["fleet/prod-us-1-control-plane"] },
      { kind: "workers.upgrade", to: "1.35.2", targets: ["fleet/prod-us-1-md-0", "fleet/prod-us-1-md-1"] },
    ]);
  });

  it("targets only the MachineDeployments still behind", () => {
    const result = planCluster(
      { ...desired("prod-us-1"), kubernetes: { version: "1.35.2" } },
      observedCluster("prod-us-1", clusterAPI("prod-us-1", { version: "1.35.2", replicas: 1 }, [{ name: "fleet/prod-us-1-md-0", version: "1.34.4", replicas: 2 }, { name: "fleet/prod-us-1-md-1", version: "1.35.2", replicas: 1 }]), addonsInSync("prod-us-1"), inventory("prod-us-1")),
      NOW,
    );
    expect(result.steps).toMatchObject([{ kind: "workers.upgrade", from: "1.34.4", to: "1.35.2", targets: ["fleet/prod-us-1-md-0"] }]);
  });

  it("blocks a Cluster API upgrade while its control plane is still rolling out", () => {
    const result = planCluster(
      { ...desired("prod-us-1"), kubernetes: { version: "1.35.2" } },
      observedCluster("prod-us-1", clusterAPI("prod-us-1", { version: "1.35.0", replicas: 3, statusVersion: "1.34.4" }, []), addonsInSync("prod-us-1"), inventory("prod-us-1")),
      NOW,
    );
    expect(result.status).toBe("blocked");
    expect(result.reason).toContain("still rolling out v1.35.0");
  });
});

describe("topology", () => {
  it("shows a kubeadm control-plane scale-up as a manual step with a runbook", () => {
    const result = one(observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4"], workers: ["1.34.4"], zones: ["eu-1a"] }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")));
    const scale = result.steps.find((s) => s.kind === "topology.scale");
    expect(scale).toMatchObject({ state: "manual", from: 1, to: 3, id: "prod-eu-1/topology.scale/3" });
    expect(scale && "runbook" in scale ? scale.runbook?.join("\n") : "").toMatch(/eu-1b, eu-1c[\s\S]*--control-plane --certificate-key/);
    expect(result.status).toBe("changes");
  });

  it("blocks a kubeadm scale-up without a control-plane endpoint", () => {
    const result = one(observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4"], workers: [], endpoint: null }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")));
    expect(result.steps.find((s) => s.kind === "topology.scale")).toMatchObject({ state: "blocked", reason: expect.stringContaining("controlPlaneEndpoint") as string });
    expect(result.status).toBe("blocked");
  });

  it("scales a Cluster API control plane by patching replicas", () => {
    const result = planCluster(
      { ...desired("prod-us-1"), topology: { ...desired("prod-us-1").topology, controlPlane: { replicas: 3, zones: [] } } },
      observedCluster("prod-us-1", clusterAPI("prod-us-1", { version: "1.34.4", replicas: 1 }, []), addonsInSync("prod-us-1"), inventory("prod-us-1")),
      NOW,
    );
    expect(result.steps).toMatchObject([{ kind: "topology.scale", state: "pending", from: 1, to: 3 }]);
  });
});

describe("HA topology, diffed", () => {
  const prod = (shape: Partial<KubeadmShape>, etcd?: ObservedKubeadm["etcd"]): ClusterPlan => {
    const driver = kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: ["1.34.4"], zones: ["eu-1a", "eu-1b", "eu-1c"], endpoint: "api.prod-eu-1.example.com:6443", ...shape });
    return one(observedCluster("prod-eu-1", etcd === undefined ? driver : { ...driver, etcd }, addonsInSync("prod-eu-1"), inventory("prod-eu-1")));
  };
  const topology = (result: ClusterPlan): Finding[] => result.findings.filter((f) => f.kind.startsWith("topology."));

  it("finds nothing when zones, etcd mode and endpoint match", () => {
    expect(topology(prod({}))).toEqual([]);
  });

  it("shows the spread finding for two control-plane nodes in one zone, with a runbook", () => {
    const [finding, ...rest] = topology(prod({ zones: ["eu-1a", "eu-1a", "eu-1c"] }));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ kind: "topology.zone-spread" });
    expect(finding?.message).toBe(
      "control-plane nodes prod-eu-1-cp-1, prod-eu-1-cp-2 are all in zone eu-1a: losing that zone loses 2 of 3 etcd members, and with them quorum; the spec names 3 zones for 3 nodes",
    );
    expect(finding?.runbook?.[0]).toContain("zone eu-1b");
  });

  it("asks for no spread when the spec names fewer zones than nodes", () => {
    const base = desired("prod-eu-1");
    const result = planCluster(
      { ...base, topology: { ...base.topology, controlPlane: { replicas: 3, zones: ["eu-1a", "eu-1b"] } } },
      observedCluster("prod-eu-1", kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: [], zones: ["eu-1a", "eu-1a", "eu-1b"], endpoint: "api.prod-eu-1.example.com:6443" }), addonsInSync("prod-eu-1"), inventory("prod-eu-1")),
      NOW,
    );
    expect(topology(result)).toEqual([]);
  });

  it("names a control-plane node outside the spec's zones, or without a zone", () => {
    const findings = topology(prod({ zones: ["eu-1a", "eu-1b", "eu-9z"] }));
    expect(findings.map((f) => f.kind)).toEqual(["topology.zone-unknown"]);
    expect(findings[0]?.message).toBe("control-plane node prod-eu-1-cp-3 (zone eu-9z) is not in a zone the spec names (eu-1a, eu-1b, eu-1c)");
    expect(topology(prod({ zones: [] }))[0]?.message).toContain("prod-eu-1-cp-1 (no topology.kubernetes.io/zone label), prod-eu-1-cp-2");
  });

  it("finds etcd external where the spec says stacked, and different external endpoints", () => {
    expect(topology(prod({}, { mode: "external", endpoints: ["https://etcd-1:2379"] }))).toMatchObject([
      { kind: "topology.etcd-mode", message: expect.stringContaining("the spec says etcd is stacked, but kubeadm-config says external (https://etcd-1:2379)") as string },
    ]);
    const base = desired("prod-eu-1");
    const external = { ...base, topology: { ...base.topology, etcd: { mode: "external" as const, endpoints: ["https://e1:2379", "https://e2:2379", "https://e3:2379"] } } };
    const observed = (endpoints: string[]): ClusterPlan =>
      planCluster(external, observedCluster("prod-eu-1", { ...kubeadm("prod-eu-1", { controlPlane: ["1.34.4", "1.34.4", "1.34.4"], workers: [], zones: ["eu-1a", "eu-1b", "eu-1c"], endpoint: "api.prod-eu-1.example.com:6443" }), etcd: { mode: "external", endpoints } }, addonsInSync("prod-eu-1"), inventory("prod-eu-1")), NOW);
    expect(topology(observed(["https://e3:2379", "https://e1:2379", "https://e2:2379"]))).toEqual([]);
    expect(topology(observed(["https://e1:2379"])).map((f) => f.kind)).toEqual(["topology.etcd-endpoints"]);
  });

  it("finds the spec's endpoint differing from kubeadm's controlPlaneEndpoint", () => {
    const [finding] = topology(prod({ endpoint: "10.0.0.10:6443" }));
    expect(finding).toMatchObject({ kind: "topology.endpoint" });
    expect(finding?.message).toBe(
      "the spec's endpoint api.prod-eu-1.example.com:6443 differs from kubeadm's controlPlaneEndpoint 10.0.0.10:6443: nodes and kubeconfigs reach the API server through the latter",
    );
  });
});

describe("add-ons", () => {
  const cp = (): ReturnType<typeof kubeadm> => kubeadm("canary-1", { controlPlane: ["1.35.4"], workers: ["1.35.4"] });

  it("installs missing add-ons in dependency order and uninstalls removed ones last", () => {
    const addons = addonsInSync("canary-1").map((a) => (a.kind === "helm" && a.name === "echo" ? { ...a, release: null } : a.kind === "kustomize" ? { ...a, applied: false } : a));
    const installed = [...inventory("canary-1"), { name: "old-dashboard", kind: "helm" as const, namespace: "dash", objects: [] }];
    const result = one(observedCluster("canary-1", cp(), addons, installed));
    expect(kinds(result.steps)).toEqual(["addon.install echo [pending]", "addon.install monitoring [pending]", "addon.uninstall old-dashboard [pending]"]);
  });

  it("upgrades a Helm release whose chart version, values or objects differ, saying which", () => {
    const addons = addonsInSync("canary-1").map((a) =>
      a.kind === "helm" && a.name === "echo"
        ? { ...a, render: { ok: true as const, chart: "echo", chartVersion: "0.2.0", valuesDiff: "-a: 1\n+a: 2\n", objects: [change("Deployment/echo/echo", "update")], prune: [] } }
        : a,
    );
    const result = one(observedCluster("canary-1", cp(), addons, inventory("canary-1")));
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]).toMatchObject({
      kind: "addon.upgrade",
      id: "canary-1/addon.upgrade/echo",
      chartVersion: { from: "0.1.0", to: "0.2.0" },
      valuesDiff: "-a: 1\n+a: 2\n",
      objects: [{ id: "Deployment/echo/echo", action: "update" }],
      summary: "upgrade echo (revision 1): chart echo 0.1.0 → echo 0.2.0; values changed; objects drifted: 1 to update",
    });
  });

  it("re-runs a release left failed or pending", () => {
    const addons = addonsInSync("canary-1").map((a) => (a.kind === "helm" && a.name === "echo" && a.release ? { ...a, release: { ...a.release, status: "pending-upgrade" } } : a));
    const result = one(observedCluster("canary-1", cp(), addons, inventory("canary-1")));
    expect(result.steps[0]?.summary).toContain("release is pending-upgrade");
  });

  it("applies drifted Kustomize objects and prunes what left the overlay", () => {
    const addons = addonsInSync("canary-1").map((a) =>
      a.kind === "kustomize" ? { ...a, render: { ok: true as const, objects: [change("Deployment/monitoring/agent", "update"), change("ConfigMap/monitoring/x", "unchanged")], prune: ["ConfigMap/monitoring/old"] } } : a,
    );
    const result = one(observedCluster("canary-1", cp(), addons, inventory("canary-1")));
    expect(kinds(result.steps)).toEqual(["addon.apply monitoring [pending]", "addon.prune monitoring [pending]"]);
    expect(result.steps[1]).toMatchObject({ objects: ["ConfigMap/monitoring/old"] });
  });

  it("blocks an add-on that cannot be rendered, and every add-on that depends on it", () => {
    const addons = addonsInSync("canary-1").map((a) =>
      a.name === "metrics-server" && a.kind === "helm" ? { ...a, render: { ok: false as const, error: "environment variable X is not set" } } : a.name === "echo" && a.kind === "helm" ? { ...a, release: null } : a,
    );
    const result = one(observedCluster("canary-1", cp(), addons, inventory("canary-1")));
    expect(result.status).toBe("blocked");
    expect(result.steps.map((s) => [s.kind, "addon" in s ? s.addon : "", s.state, s.reason])).toEqual([
      ["addon.upgrade", "metrics-server", "blocked", "metrics-server: environment variable X is not set"],
      ["addon.install", "echo", "blocked", "depends on metrics-server, which is blocked"],
    ]);
  });
});

describe("backups", () => {
  const cp = (): ReturnType<typeof kubeadm> => kubeadm("canary-1", { controlPlane: ["1.35.4"], workers: [] });

  it.each([
    ["create", { present: false, lastSuccessfulTime: null, change: change("CronJob/kube-system/bosun-etcd-backup", "create") }, "create"],
    ["update", { present: true, lastSuccessfulTime: "2026-11-23T06:00:00Z", change: change("CronJob/kube-system/bosun-etcd-backup", "update") }, "update"],
  ] as const)("plans a %s of the backup CronJob", (_name, backup, action) => {
    const result = one(observedCluster("canary-1", cp(), addonsInSync("canary-1"), inventory("canary-1"), backup));
    expect(result.steps).toMatchObject([{ kind: "backup.schedule", action, schedule: "0 */6 * * *", id: "canary-1/backup.schedule" }]);
  });

  it("removes the CronJob when backups are turned off", () => {
    const result = planCluster({ ...desired("canary-1"), backup: { etcd: null } }, observedCluster("canary-1", cp(), addonsInSync("canary-1"), inventory("canary-1"), { present: true, lastSuccessfulTime: null, change: null }), NOW);
    expect(result.steps).toMatchObject([{ kind: "backup.schedule", action: "delete", schedule: null }]);
  });

  it.each([
    // every 6 hours: 06:00 and 12:00 passed since 00:00 → stale at 12:00; a run at 06:00 is fresh.
    ["2026-11-23T00:00:00Z", true],
    ["2026-11-23T05:59:00Z", true],
    ["2026-11-23T06:00:00Z", false],
    ["2026-11-23T11:00:00Z", false],
  ])("reports a backup last successful at %s as stale: %s", (last, stale) => {
    const result = one(observedCluster("canary-1", cp(), addonsInSync("canary-1"), inventory("canary-1"), backupInSync(last)));
    expect(result.findings.some((f) => f.kind === "backup.stale")).toBe(stale);
    expect(result.status).toBe("in-sync");
  });
});

describe("cluster statuses", () => {
  it.each([
    [{ name: "canary-1", status: "unreachable" as const, reason: "connection refused" }, "unreachable"],
    [{ name: "canary-1", status: "invalid" as const, reason: "no kubeadm-config" }, "invalid"],
  ])("carries an observation failure through with its reason", (observed, status) => {
    const result = one(observed);
    expect(result).toMatchObject({ status, reason: observed.reason, steps: [] });
  });

  it("calls a cluster invalid when the driver observed is not the spec's", () => {
    const result = one(observedCluster("prod-us-1", kubeadm("prod-us-1", { controlPlane: ["1.34.4"], workers: [] })));
    expect(result.status).toBe("invalid");
  });
});

describe("external etcd", () => {
  it("blocks the backup schedule and the pre-upgrade snapshot, saying what to do", () => {
    const d = desired("canary-1");
    const external: DesiredCluster = { ...d, topology: { ...d.topology, etcd: { mode: "external", endpoints: ["https://10.0.0.5:2379"] } } };
    const result = planCluster(
      external,
      observedCluster("canary-1", kubeadm("canary-1", { controlPlane: ["1.35.0"], workers: [] }), addonsInSync("canary-1"), inventory("canary-1"), { present: false, lastSuccessfulTime: null, change: change("CronJob/kube-system/bosun-etcd-backup", "create") }),
      NOW,
    );
    expect(result.status).toBe("blocked");
    expect(result.steps.map((s) => [s.kind, s.state])).toEqual([
      ["backup.schedule", "blocked"],
      ["backup.snapshot", "blocked"],
      ["controlPlane.upgrade", "pending"],
    ]);
    expect(result.reason).toContain("backup.etcd.enabled: false");
  });
});
