/** The pure half of comparing objects: server-owned fields never count as drift, secrets are masked before text. */
import { describe, expect, it } from "vitest";
import { diffObjects, normalizeForDiff, objectId } from "../../../src/diff/objects.js";
import type { KubeObject } from "../../../src/kube/rest.js";

const configMap = (data: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "settings", namespace: "app", ...extra },
  data,
});

describe("normalizeForDiff", () => {
  it("drops what the API server sets and keeps what a user wrote", () => {
    const live = configMap({ a: "1" }, { uid: "u", resourceVersion: "7", generation: 2, managedFields: [], annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", team: "x" } });
    expect(normalizeForDiff({ ...live, status: { phase: "x" } })).toEqual(configMap({ a: "1" }, { annotations: { team: "x" } }));
  });

  it("makes a live object and its dry-run equal when only server fields differ", () => {
    const live = normalizeForDiff(configMap({ a: "1" }, { uid: "u", resourceVersion: "7" }));
    const dryRun = normalizeForDiff(configMap({ a: "1" }, { uid: "u", resourceVersion: "8" }));
    expect(diffObjects("ConfigMap/app/settings", live, dryRun)).toBe("");
  });
});

describe("diffObjects", () => {
  it("is a unified diff naming the object on both sides", () => {
    const diff = diffObjects("ConfigMap/app/settings", configMap({ a: "1" }), configMap({ a: "2" }));
    expect(diff).toContain("--- live/ConfigMap/app/settings");
    expect(diff).toContain("+++ desired/ConfigMap/app/settings");
    expect(diff).toContain('-  a: "1"');
    expect(diff).toContain('+  a: "2"');
  });

  it("masks a Secret's data on both sides, still showing that it changed", () => {
    const secret = (value: string): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "app" }, data: { password: value } });
    const diff = diffObjects("Secret/app/s", secret("c2VjcmV0LW9uZQ=="), secret("c2VjcmV0LXR3bw=="));
    expect(diff).not.toContain("c2VjcmV0");
    expect(diff).toContain("(masked: before)");
    expect(diff).toContain("(masked: after)");
  });
});

describe("objectId", () => {
  it.each([
    [configMap({}), "ConfigMap/app/settings"],
    [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } }, "Namespace/app"],
  ] as const)("%#: %s", (object, id) => {
    expect(objectId(object)).toBe(id);
  });
});
