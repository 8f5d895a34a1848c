/**
 * The pure parts of rendering an add-on: values merging, secret values from the environment, parsing a
 * renderer's output, namespace defaulting and the apply order.
 */
import { describe, expect, it } from "vitest";
import {
  AddonRenderError,
  assignNamespaces,
  deepMerge,
  mergeHelmValues,
  parseManifests,
  resolveSecretValues,
  sortForApply,
} from "../../../src/addons/render.js";
import type { ApiResource, KubeObject } from "../../../src/kube/rest.js";

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
});

describe("mergeHelmValues", () => {
  it.each([
    { name: "files merge deeply, in order", files: [{ a: { b: 1, c: 2 } }, { a: { c: 3, d: 4 } }], inline: {}, want: { a: { b: 1, c: 3, d: 4 } } },
    { name: "inline values come after the files", files: [{ replicas: 1, image: { tag: "1" } }], inline: { image: { tag: "2" } }, want: { replicas: 1, image: { tag: "2" } } },
    { name: "lists replace, never merge", files: [{ args: ["a", "b"] }], inline: { args: ["c"] }, want: { args: ["c"] } },
    { name: "a scalar replaces a map", files: [{ a: { b: 1 } }], inline: { a: "flat" }, want: { a: "flat" } },
    { name: "a map replaces a scalar", files: [{ a: "flat" }], inline: { a: { b: 1 } }, want: { a: { b: 1 } } },
    { name: "null is kept (helm deletes the chart default)", files: [{ a: { b: 1 } }], inline: { a: { b: null } }, want: { a: { b: null } } },
    { name: "no input is an empty map", files: [], inline: {}, want: {} },
  ])("$name", ({ files, inline, want }) => {
    expect(mergeHelmValues(files, inline, [])).toEqual(want);
  });

  it("sets secret values last, making maps on the way", () => {
    const merged = mergeHelmValues([{ auth: { user: "app", token: "from-file" } }], { db: "x" }, [
      { path: ["auth", "token"], value: "s1" },
      { path: ["db", "password"], value: "s2" },
      { path: ["new", "deep", "key"], value: "s3" },
    ]);
    expect(merged).toEqual({ auth: { user: "app", token: "s1" }, db: { password: "s2" }, new: { deep: { key: "s3" } } });
  });

  it("does not change its inputs", () => {
    const file = { a: { b: 1 } };
    const inline = { a: { c: 2 } };
    mergeHelmValues([file], inline, [{ path: ["a", "s"], value: "x" }]);
    expect(file).toEqual({ a: { b: 1 } });
    expect(inline).toEqual({ a: { c: 2 } });
    const base = { m: { n: [1] } };
    const merged = deepMerge(base, {});
    (merged.m as { n: number[] }).n.push(2);
    expect(base.m.n).toEqual([1]);
  });
});

describe("resolveSecretValues", () => {
  const source = { secretValues: [{ path: ["auth", "token"], env: "WEB_TOKEN" }] };

  it("reads each value from the environment", () => {
    expect(resolveSecretValues("web", source, { WEB_TOKEN: "t0ken" })).toEqual([{ path: ["auth", "token"], value: "t0ken" }]);
  });

  it("names the variable and the add-on when the variable is missing", () => {
    const attempt = (): unknown => resolveSecretValues("web", source, { OTHER: "unrelated-value" });
    expect(attempt).toThrow(AddonRenderError);
    expect(attempt).toThrow("add-on web: environment variable WEB_TOKEN is not set (it holds the secret value auth.token)");
  });

  it("accepts an empty value", () => {
    expect(resolveSecretValues("web", source, { WEB_TOKEN: "" })).toEqual([{ path: ["auth", "token"], value: "" }]);
  });
});

describe("parseManifests", () => {
  it("drops empty documents and keeps Helm's template path", () => {
    const text = [
      "---",
      "# Source: web/templates/empty.yaml",
      "---",
      "# Source: web/templates/cm.yaml",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata: { name: a }",
      "data: { on: yes, when: 2024-01-02, mode: 0644 }",
      "---",
      "---",
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - { apiVersion: v1, kind: ConfigMap, metadata: { name: b } }",
      "  - { apiVersion: v1, kind: ConfigMap, metadata: { name: c } }",
      "",
    ].join("\n");
    const parsed = parseManifests(text, "web", "helm template");
    expect(parsed.map((p) => [p.object.metadata.name, p.source])).toEqual([
      ["a", "web/templates/cm.yaml"],
      ["b", undefined],
      ["c", undefined],
    ]);
    // YAML 1.1 scalars as sigs.k8s.io/yaml reads them: booleans and octal, timestamps stay strings.
    expect(parsed[0]?.object.data).toEqual({ true: true, when: "2024-01-02", mode: 420 });
  });

  it("reports invalid YAML by document, template and line, without quoting it", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ok }\n---\n# Source: web/templates/secret.yaml\napiVersion: v1\nkind: Secret\nstringData:\n  password: s3cr3t: value\n";
    let message = "";
    try {
      parseManifests(text, "web", "helm template");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^add-on web: document 2 \(web\/templates\/secret\.yaml\) of helm template is not valid YAML \([A-Z_]+ at line 9\)$/);
    expect(message).not.toContain("s3cr3t");
  });

  it.each([
    { text: "- a\n- b\n", want: "document 1 of kustomize build x is not a Kubernetes object (not a map)" },
    { text: "kind: ConfigMap\nmetadata: { name: a }\n", want: "(no apiVersion)" },
    { text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", want: "(no metadata.name)" },
    { text: "apiVersion: v1\nmetadata: { name: a }\n", want: "(no kind)" },
  ])("refuses what is not an object: $want", ({ text, want }) => {
    expect(() => parseManifests(text, "cfg", "kustomize build x")).toThrow(want);
  });
});

describe("assignNamespaces", () => {
  const served: Record<string, ApiResource> = {
    "v1/ConfigMap": { name: "configmaps", namespaced: true },
    "apps/v1/Deployment": { name: "deployments", namespaced: true },
    "v1/Namespace": { name: "namespaces", namespaced: false },
    "rbac.authorization.k8s.io/v1/ClusterRole": { name: "clusterroles", namespaced: false },
  };
  const discovery = { resource: (apiVersion: string, kind: string): Promise<ApiResource | undefined> => Promise.resolve(served[`${apiVersion}/${kind}`]) };

  function render(): KubeObject[] {
    return [
      obj("v1", "ConfigMap", "no-namespace"),
      obj("apps/v1", "Deployment", "elsewhere", "other"),
      obj("v1", "Namespace", "ns"),
      obj("rbac.authorization.k8s.io/v1", "ClusterRole", "wrongly-namespaced", "oops"),
      obj("example.com/v1", "Widget", "unserved"),
      obj("example.com/v1", "Widget", "unserved-with-namespace", "kept"),
    ];
  }

  it("fill: gives namespaced objects without one the namespace; cluster-scoped lose theirs; unserved keep theirs", async () => {
    const objects = render();
    await assignNamespaces(discovery, objects, "web", "fill");
    expect(objects.map((o) => o.metadata.namespace)).toEqual(["web", "other", undefined, undefined, undefined, "kept"]);
  });

  it("takes the scope of an unserved kind from a CRD in the same render", async () => {
    const crd = (kind: string, scope: string): KubeObject => ({
      ...obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", `${kind.toLowerCase()}s.example.com`),
      spec: { group: "example.com", names: { kind }, scope },
    });
    const objects = [crd("Widget", "Namespaced"), crd("Gadget", "Cluster"), obj("example.com/v1", "Widget", "w"), obj("example.com/v1", "Gadget", "g", "oops")];
    await assignNamespaces(discovery, objects, "web", "fill");
    expect(objects.map((o) => o.metadata.namespace)).toEqual([undefined, undefined, "web", undefined]);
  });

  it("override: puts every namespaced object in the namespace", async () => {
    const objects = render();
    await assignNamespaces(discovery, objects, "cfg", "override");
    expect(objects.map((o) => o.metadata.namespace)).toEqual(["cfg", "cfg", undefined, undefined, undefined, "kept"]);
  });
});

describe("sortForApply", () => {
  it("puts CRDs first, then Namespaces, then the rest in render order", () => {
    const objects = [
      obj("v1", "ConfigMap", "a", "x"),
      obj("v1", "Namespace", "x"),
      obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
      obj("apps/v1", "Deployment", "b", "x"),
      obj("example.com/v1", "Widget", "w", "x"),
      obj("v1", "Namespace", "y"),
      obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "gadgets.example.com"),
      obj("v1", "Service", "c", "x"),
    ];
    expect(sortForApply(objects).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "CustomResourceDefinition/widgets.example.com",
      "CustomResourceDefinition/gadgets.example.com",
      "Namespace/x",
      "Namespace/y",
      "ConfigMap/a",
      "Deployment/b",
      "Widget/w",
      "Service/c",
    ]);
  });
});
