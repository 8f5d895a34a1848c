/**
 * The pre-upgrade checks as the planner applies them: fail-closed webhooks without endpoints block every
 * upgrade step, a deprecated API blocks exactly the rung whose target removes it (and the rungs after),
 * stacked etcd missing a member blocks control-plane rungs, and budgets on drained nodes are findings.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { manifestObjects } from "../../../src/addons/releases.js";
import { parseDeprecatedApis, selectorText } from "../../../src/observe/readiness.js";
import type { ObservedReadiness } from "../../../src/plan/observed.js";
import { planCluster } from "../../../src/plan/plan.js";
import type { ClusterPlan } from "../../../src/plan/types.js";
import { loadFleet } from "../../../src/spec/load.js";
import type { DesiredCluster } from "../../../src/spec/types.js";
import { kubeadm, observedCluster } from "./observed-builder.js";

const NOW = "2026-11-23T12:00:00.000Z";
let staging: DesiredCluster;
beforeAll(async () => {
  const loaded = await loadFleet(path.resolve(import.meta.dirname, "../../../fleet-example"));
  if (!loaded.ok) throw new Error("fleet-example does not load");
  const found = loaded.value.clusters.find((c) => c.name === "staging-eu-1");
  if (!found) throw new Error("no staging-eu-1");
  // Two minors up, no add-ons or backups to keep the steps to the ladder.
  staging = { ...found, addons: [], backup: { etcd: null } };
});

const ready = (overrides: Partial<ObservedReadiness> = {}): ObservedReadiness => ({ webhooks: [], budgets: [], deprecatedApis: [], manifestObjects: [], problems: [], ...overrides });

function planWith(readiness: ObservedReadiness | undefined, etcdOnEveryNode = true): ClusterPlan {
  const driver = kubeadm("staging-eu-1", { controlPlane: ["1.33.13"], workers: ["1.33.13", "1.33.13"], zones: ["eu-1a"], endpoint: "api.staging-eu-1.example.internal:6443" });
  const withEtcd = etcdOnEveryNode ? driver : { ...driver, controlPlane: driver.controlPlane.map((n) => ({ ...n, etcd: null })) };
  const observed = { ...observedCluster("staging-eu-1", withEtcd, [], [], { change: null, present: false, lastSuccessfulTime: null }), ...(readiness === undefined ? {} : { readiness }) };
  return planCluster(staging, observed, NOW);
}

const states = (plan: ClusterPlan): string[] => plan.steps.map((s) => `${s.id.replace("staging-eu-1/", "")} ${s.state}`);

describe("pre-upgrade checks in the plan", () => {
  it("passes when nothing is wrong", () => {
    expect(planWith(ready()).steps.every((s) => s.state === "pending")).toBe(true);
  });

  it("blocks every upgrade step for a fail-closed webhook without a ready endpoint, naming it", () => {
    const webhook = { kind: "ValidatingWebhookConfiguration" as const, configuration: "policy", webhook: "check.policy.example", service: "policy/webhook", readyEndpoints: 0 };
    const blocked = planWith(ready({ webhooks: [webhook] }));
    expect(blocked.status).toBe("blocked");
    expect(blocked.steps.every((s) => s.state === "blocked")).toBe(true);
    expect(blocked.steps[0]?.reason).toContain("ValidatingWebhookConfiguration policy (webhook check.policy.example → Service policy/webhook)");
    expect(planWith(ready({ webhooks: [{ ...webhook, readyEndpoints: 1 }] })).steps.every((s) => s.state === "pending")).toBe(true);
  });

  it("blocks the rung whose target removes a requested deprecated API, and the rungs after it", () => {
    const plan = planWith(ready({ deprecatedApis: [{ group: "networking.k8s.io", version: "v1beta1", resource: "servicecidrs", removedRelease: "1.35" }] }));
    expect(states(plan)).toEqual(["controlPlane.upgrade/1.34.12 pending", "controlPlane.upgrade/1.35.4 blocked", "workers.upgrade/1.35.4 blocked"]);
    expect(plan.steps[1]?.reason).toBe(
      "networking.k8s.io/v1beta1 servicecidrs (removed in 1.35) was requested since the API server started, and 1.35 no longer serves it: move its clients and manifests to a served version first (kubectl get --raw /metrics | grep apiserver_requested_deprecated_apis)",
    );
    expect(plan.steps[2]?.reason).toMatch(/^the control-plane rung to 1\.35\.4 is blocked: networking\.k8s\.io/);
    // Removed later than the target: no block.
    expect(planWith(ready({ deprecatedApis: [{ group: "storage.k8s.io", version: "v1beta1", resource: "volumeattributesclasses", removedRelease: "1.37" }] })).status).toBe("changes");
  });

  it("blocks the rung that removes the API version a release's or an add-on's object is written in", () => {
    const plan = planWith(
      ready({
        manifestObjects: [
          { source: "Helm release web/web", apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", object: "web/web" },
          { source: "add-on net", apiVersion: "networking.k8s.io/v1beta1", kind: "ServiceCIDR", object: "extra" },
        ],
      }),
    );
    // policy/v1beta1 went in 1.25: already gone at the first rung; ServiceCIDR v1beta1 (1.37) is no concern up to 1.35.
    expect(plan.steps[0]).toMatchObject({ kind: "controlPlane.upgrade", state: "blocked" });
    expect(plan.steps[0]?.reason).toBe(
      "PodDisruptionBudget web/web of Helm release web/web (policy/v1beta1, removed in 1.25; use policy/v1 PodDisruptionBudget): written in an API version 1.34 no longer serves; upgrade or re-apply it in a served version first",
    );
  });

  it("blocks control-plane rungs when stacked etcd lacks a member", () => {
    const plan = planWith(ready(), false);
    expect(plan.steps[0]).toMatchObject({ kind: "controlPlane.upgrade", state: "blocked" });
    expect(plan.steps[0]?.reason).toContain("stacked etcd has 0 members for 1 control-plane nodes: no etcd pod on staging-eu-1-cp-1");
  });

  it("reports a budget allowing no disruption on a drained node, and checks it could not run", () => {
    const plan = planWith(ready({ budgets: [{ name: "web/web", nodes: ["staging-eu-1-worker-2", "elsewhere"] }, { name: "idle/idle", nodes: ["elsewhere"] }], problems: ["the API server's /metrics answered 403"] }));
    expect(plan.findings.map((f) => [f.kind, f.message])).toEqual([
      ["upgrade.drain-blocked", "PodDisruptionBudget web/web allows no disruption now, and its pods run on staging-eu-1-worker-2, which the upgrade drains: the drain will stop there until the budget allows an eviction"],
      ["upgrade.check-incomplete", "the API server's /metrics answered 403"],
    ]);
  });
});

describe("add-ons rendered for the targets", () => {
  it("blocks the rung whose target a chart refuses, with helm's message, and the steps after it", () => {
    const driver = kubeadm("staging-eu-1", { controlPlane: ["1.33.13"], workers: ["1.33.13", "1.33.13"], zones: ["eu-1a"], endpoint: "api.staging-eu-1.example.internal:6443" });
    const addon = {
      name: "ingress",
      kind: "helm" as const,
      namespace: "ingress",
      release: null,
      render: { ok: true as const, objects: [], prune: [], chart: "ingress", chartVersion: "4.0.0", valuesDiff: null },
      targetRefusals: [{ version: "1.35.4", error: "helm exited with code 1: Error: chart requires kubeVersion: <1.35.0-0 which is incompatible with Kubernetes v1.35.4" }],
    };
    const withAddon: DesiredCluster = {
      ...staging,
      addons: [{ name: "ingress", namespace: "ingress", dependsOn: [], timeoutSeconds: 300, source: { kind: "helm", chart: { kind: "local", path: "charts/ingress", name: null, version: null }, values: {}, valuesFiles: [], secretValues: [] } }],
    };
    const observed = { ...observedCluster("staging-eu-1", driver, [addon], [], { change: null, present: false, lastSuccessfulTime: null }), readiness: ready() };
    const plan = planCluster(withAddon, observed, NOW);
    expect(plan.steps.filter((s) => s.kind.endsWith(".upgrade")).map((s) => `${s.id.replace("staging-eu-1/", "")} ${s.state}`)).toEqual([
      "controlPlane.upgrade/1.34.12 pending",
      "controlPlane.upgrade/1.35.4 blocked",
      "workers.upgrade/1.35.4 blocked",
    ]);
    expect(plan.steps.find((s) => s.id.endsWith("controlPlane.upgrade/1.35.4"))?.reason).toBe(
      "add-on ingress (chart ingress 4.0.0) does not render for Kubernetes 1.35.4: helm exited with code 1: Error: chart requires kubeVersion: <1.35.0-0 which is incompatible with Kubernetes v1.35.4",
    );
  });
});

describe("reading the inputs", () => {
  it("keeps only the identity and API version of a release manifest's objects", () => {
    const manifest = "---\n# Source: web/templates/pdb.yaml\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: web\nspec: {}\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: token }\ndata: { password: c2VjcmV0 }\n";
    expect(manifestObjects(manifest)).toEqual([
      { apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", namespace: "web", name: "web" },
      { apiVersion: "v1", kind: "Secret", namespace: null, name: "token" },
    ]);
    expect(manifestObjects("key: [unclosed")).toEqual([]);
    expect(manifestObjects(undefined)).toEqual([]);
  });

  it("reads apiserver_requested_deprecated_apis series that are 1, one per resource", () => {
    const text = [
      "# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.",
      "# TYPE apiserver_requested_deprecated_apis gauge",
      'apiserver_requested_deprecated_apis{group="networking.k8s.io",removed_release="1.37",resource="servicecidrs",subresource="",version="v1beta1"} 1',
      'apiserver_requested_deprecated_apis{group="networking.k8s.io",removed_release="1.37",resource="servicecidrs",subresource="status",version="v1beta1"} 1',
      'apiserver_requested_deprecated_apis{group="storage.k8s.io",removed_release="1.37",resource="volumeattributesclasses",subresource="",version="v1beta1"} 0',
      'apiserver_request_total{code="200"} 5',
    ].join("\n");
    expect(parseDeprecatedApis(text)).toEqual([{ group: "networking.k8s.io", version: "v1beta1", resource: "servicecidrs", removedRelease: "1.37" }]);
  });

  it("writes a budget's selector in labelSelector syntax", () => {
    expect(selectorText({ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }, { key: "canary", operator: "DoesNotExist" }] })).toBe("app=web,tier in (a,b),!canary");
    expect(selectorText(undefined)).toBeUndefined();
  });
});
