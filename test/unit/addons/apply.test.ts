/**
 * The pure parts of applying add-ons: apply stages (CRDs and Namespaces first), delete order (namespaced
 * objects, then Namespaces, then CRDs), the prune diff they feed, inventory ids, how a stuck Helm release is
 * recovered, and which flags a helm version gets.
 */
import { describe, expect, it } from "vitest";
import { recoveryFor, rollbackTarget } from "../../../src/addons/helm-apply.js";
import { inventoryId, migrateObject, pruneList } from "../../../src/addons/inventory.js";
import { applyStages, deleteOrder, parseObjectId } from "../../../src/addons/kustomize-apply.js";
import { sortForApply } from "../../../src/addons/render.js";
import type { KubeObject } from "../../../src/kube/rest.js";
import { helmFeaturesOf } from "../../../src/tools/helm.js";

function object(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
}

const crd = object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com");
const namespace = object("v1", "Namespace", "shop");
const deployment = object("apps/v1", "Deployment", "web", "shop");
const configMap = object("v1", "ConfigMap", "settings", "shop");
const widget = object("example.com/v1", "Widget", "sample", "shop");
const clusterRole = object("rbac.authorization.k8s.io/v1", "ClusterRole", "reader");
const fakeNamespace = object("example.com/v1", "Namespace", "not-core");

const ids = (objects: readonly KubeObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe("apply stages", () => {
  it.each([
    { name: "CRDs, then Namespaces, then the rest in render order", input: [widget, deployment, namespace, configMap, crd], first: ["CustomResourceDefinition/widgets.example.com", "Namespace/shop"], rest: ["Widget/sample", "Deployment/web", "ConfigMap/settings"] },
    { name: "nothing to apply first", input: [deployment, configMap], first: [], rest: ["Deployment/web", "ConfigMap/settings"] },
    { name: "only a kind called Namespace in the core group counts", input: [fakeNamespace, clusterRole], first: [], rest: ["Namespace/not-core", "ClusterRole/reader"] },
    { name: "several CRDs and Namespaces keep their order within their kind", input: [namespace, object("v1", "Namespace", "a"), crd, object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gadgets.example.com")], first: ["CustomResourceDefinition/widgets.example.com", "CustomResourceDefinition/gadgets.example.com", "Namespace/shop", "Namespace/a"], rest: [] },
  ])("$name", ({ input, first, rest }) => {
    const stages = applyStages(input);
    expect(ids(stages.first)).toEqual(first);
    expect(ids(stages.rest)).toEqual(rest);
  });

  it("agree with the render's sort order", () => {
    const sorted = sortForApply([widget, deployment, namespace, configMap, crd]);
    const stages = applyStages(sorted);
    expect([...stages.first, ...stages.rest]).toEqual(sorted);
  });
});

describe("delete order", () => {
  it.each([
    {
      name: "namespaced and other objects, then Namespaces, then CRDs; by id within each",
      input: [
        { id: "CustomResourceDefinition/widgets.example.com", apiVersion: "apiextensions.k8s.io/v1" },
        { id: "Namespace/shop", apiVersion: "v1" },
        { id: "Widget/shop/sample", apiVersion: "example.com/v1" },
        { id: "ClusterRole/reader", apiVersion: "rbac.authorization.k8s.io/v1" },
        { id: "Deployment/shop/web", apiVersion: "apps/v1" },
        { id: "Namespace/other", apiVersion: "v1" },
      ],
      order: ["ClusterRole/reader", "Deployment/shop/web", "Widget/shop/sample", "Namespace/other", "Namespace/shop", "CustomResourceDefinition/widgets.example.com"],
    },
    {
      name: "a Namespace kind of another group is an ordinary object",
      input: [
        { id: "Namespace/shop", apiVersion: "v1" },
        { id: "Namespace/not-core", apiVersion: "example.com/v1" },
      ],
      order: ["Namespace/not-core", "Namespace/shop"],
    },
    { name: "nothing", input: [], order: [] },
  ])("$name", ({ input, order }) => {
    expect(deleteOrder(input).map((o) => o.id)).toEqual(order);
  });

  it("prunes exactly what left the render, in delete order", () => {
    const previous = [
      { id: "ConfigMap/shop/extra", apiVersion: "v1" },
      { id: "ConfigMap/shop/settings", apiVersion: "v1" },
      { id: "Namespace/old", apiVersion: "v1" },
      { id: "Deployment/old/worker", apiVersion: "apps/v1" },
    ];
    const leaving = new Set(pruneList(previous.map((o) => o.id), ["ConfigMap/shop/settings", "Deployment/shop/web"]));
    expect(deleteOrder(previous.filter((o) => leaving.has(o.id))).map((o) => o.id)).toEqual(["ConfigMap/shop/extra", "Deployment/old/worker", "Namespace/old"]);
  });
});

describe("inventory ids", () => {
  it.each([
    { id: "Deployment.apps/shop/web", parts: { kind: "Deployment", group: "apps", namespace: "shop", name: "web" } },
    { id: "ConfigMap/shop/settings", parts: { kind: "ConfigMap", group: "", namespace: "shop", name: "settings" } },
    { id: "ClusterRole.rbac.authorization.k8s.io/reader", parts: { kind: "ClusterRole", group: "rbac.authorization.k8s.io", namespace: undefined, name: "reader" } },
    {
      id: "CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com",
      parts: { kind: "CustomResourceDefinition", group: "apiextensions.k8s.io", namespace: undefined, name: "widgets.example.com" },
    },
  ])("$id", ({ id, parts }) => {
    expect(parseObjectId(id)).toEqual(parts);
  });

  it("two Kinds of the same name in different groups get different ids (the core group left out)", () => {
    const a = object("a.example.com/v1", "Widget", "w", "shop");
    const b = object("b.example.com/v1", "Widget", "w", "shop");
    expect(inventoryId(a)).toBe("Widget.a.example.com/shop/w");
    expect(inventoryId(b)).toBe("Widget.b.example.com/shop/w");
    expect(inventoryId(configMap)).toBe("ConfigMap/shop/settings");
    expect(inventoryId(crd)).toBe("CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com");
    // Only the one that left the render is pruned.
    expect(pruneList([inventoryId(a), inventoryId(b)], [inventoryId(b)])).toEqual(["Widget.a.example.com/shop/w"]);
  });

  it.each([
    { old: { id: "Deployment/shop/web", apiVersion: "apps/v1" }, migrated: "Deployment.apps/shop/web" },
    { old: { id: "ConfigMap/shop/settings", apiVersion: "v1" }, migrated: "ConfigMap/shop/settings" },
    { old: { id: "Widget/shop/w", apiVersion: "a.example.com/v1" }, migrated: "Widget.a.example.com/shop/w" },
    { old: { id: "Widget.a.example.com/shop/w", apiVersion: "a.example.com/v1" }, migrated: "Widget.a.example.com/shop/w" },
  ])("a format-1 id $old.id is read as $migrated", ({ old, migrated }) => {
    expect(migrateObject(old)).toEqual({ id: migrated, apiVersion: old.apiVersion });
  });

  it("an id of another shape is a bug", () => {
    expect(() => parseObjectId("a/b/c/d")).toThrow(/internal error/);
  });
});

describe("recovering a stuck Helm release", () => {
  it.each([
    ["pending-install", "reinstall"],
    ["uninstalling", "reinstall"],
    ["pending-upgrade", "rollback"],
    ["pending-rollback", "rollback"],
    ["deployed", "none"],
    ["failed", "none"],
    ["superseded", "none"],
  ])("%s → %s", (status, recovery) => {
    expect(recoveryFor(status)).toBe(recovery);
  });

  it.each([
    { name: "the last deployed revision before the stuck one", history: [[1, "superseded"], [2, "deployed"], [3, "pending-upgrade"]], latest: 3, target: 2 },
    { name: "skips failed revisions", history: [[1, "superseded"], [2, "deployed"], [3, "failed"], [4, "pending-upgrade"]], latest: 4, target: 2 },
    { name: "a superseded revision when none is marked deployed", history: [[1, "superseded"], [2, "failed"], [3, "pending-rollback"]], latest: 3, target: 1 },
    { name: "deployed wins over a newer superseded", history: [[1, "deployed"], [2, "superseded"], [3, "pending-upgrade"]], latest: 3, target: 1 },
    { name: "none ever deployed", history: [[1, "failed"], [2, "pending-upgrade"]], latest: 2, target: undefined },
    { name: "never the stuck revision itself", history: [[1, "deployed"]], latest: 1, target: undefined },
  ] as const)("$name", ({ history, latest, target }) => {
    expect(rollbackTarget(history.map(([revision, status]) => ({ revision, status })), latest)).toBe(target);
  });
});

describe("helm features by version", () => {
  it.each([
    { version: "v4.3.1", major: 4, flag: "--rollback-on-failure", labels: true, ignoreNotFound: true, forceConflicts: true },
    { version: "v4.0.0+g1234abc", major: 4, flag: "--rollback-on-failure", labels: true, ignoreNotFound: true, forceConflicts: true },
    { version: "v3.22.0+gabcdef0", major: 3, flag: "--atomic", labels: true, ignoreNotFound: true, forceConflicts: false },
    { version: "v3.13.0", major: 3, flag: "--atomic", labels: true, ignoreNotFound: true, forceConflicts: false },
    { version: "v3.12.3+g3a31588", major: 3, flag: "--atomic", labels: false, ignoreNotFound: false, forceConflicts: false },
    { version: "something else", major: 3, flag: "--atomic", labels: false, ignoreNotFound: false, forceConflicts: false },
  ])("$version", ({ version, major, flag, labels, ignoreNotFound, forceConflicts }) => {
    expect(helmFeaturesOf(version)).toMatchObject({ version, major, rollbackOnFailureFlag: flag, releaseLabels: labels, uninstallIgnoreNotFound: ignoreNotFound, forceConflicts });
  });
});
