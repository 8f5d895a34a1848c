/** The inventory's stored format and the pure prune diff. */
import { describe, expect, it } from "vitest";
import { INVENTORY_FORMAT_ANNOTATION } from "../../../src/constants.js";
import {
  decodeInventory,
  encodeEntry,
  pruneList,
  toInstalledAddon,
  type InventoryEntry,
} from "../../../src/addons/inventory.js";

const cfg: Omit<InventoryEntry, "name"> = {
  kind: "kustomize",
  namespace: "config",
  seq: 2,
  objects: [
    { id: "Deployment/config/agent", apiVersion: "apps/v1" },
    { id: "ConfigMap/config/settings", apiVersion: "v1" },
    { id: "ConfigMap/config/settings", apiVersion: "v1" },
  ],
  secretPaths: [],
};

describe("inventory entries", () => {
  it("encode as stable JSON: objects sorted and deduplicated, no empty secretPaths", () => {
    expect(encodeEntry(cfg)).toBe(
      '{"kind":"kustomize","namespace":"config","seq":2,"objects":[{"id":"ConfigMap/config/settings","apiVersion":"v1"},{"id":"Deployment/config/agent","apiVersion":"apps/v1"}]}',
    );
    expect(encodeEntry({ kind: "helm", namespace: "web", seq: 1, objects: [], secretPaths: [["auth", "token"]] })).toBe(
      '{"kind":"helm","namespace":"web","seq":1,"objects":[],"secretPaths":[["auth","token"]]}',
    );
  });

  it("decode back, in install order (seq, then name)", () => {
    const configMap = {
      metadata: { annotations: { [INVENTORY_FORMAT_ANNOTATION]: "1" } },
      data: {
        web: encodeEntry({ kind: "helm", namespace: "web", seq: 1, objects: [], secretPaths: [["auth", "token"]] }),
        config: encodeEntry(cfg),
        late: encodeEntry({ kind: "kustomize", namespace: null, seq: 2, objects: [{ id: "Namespace/x", apiVersion: "v1" }], secretPaths: [] }),
      },
    };
    const entries = decodeInventory(configMap, "alpha");
    expect(entries.map((e) => e.name)).toEqual(["web", "config", "late"]);
    expect(entries[0]).toEqual({ name: "web", kind: "helm", namespace: "web", seq: 1, objects: [], secretPaths: [["auth", "token"]] });
    expect(entries.map(toInstalledAddon)).toEqual([
      { name: "web", kind: "helm", namespace: "web", objects: [] },
      // Format 1 is read with every id qualified by its apiVersion's group.
      { name: "config", kind: "kustomize", namespace: "config", objects: ["ConfigMap/config/settings", "Deployment.apps/config/agent"] },
      { name: "late", kind: "kustomize", namespace: null, objects: ["Namespace/x"] },
    ]);
  });

  it("an empty inventory has no entries", () => {
    expect(decodeInventory({}, "alpha")).toEqual([]);
  });

  it.each([
    { value: "not json", why: "entry bad: not JSON" },
    { value: "[]", why: "entry bad: not a JSON object" },
    { value: '{"kind":"chart","namespace":null,"seq":1}', why: "kind must be helm or kustomize" },
    { value: '{"kind":"helm","namespace":3,"seq":1}', why: "namespace must be a string or null" },
    { value: '{"kind":"helm","namespace":null,"seq":"1"}', why: "seq must be an integer" },
    { value: '{"kind":"helm","namespace":null,"seq":1,"objects":["ConfigMap/a/b"]}', why: "objects must be a list of {id, apiVersion}" },
  ])("refuses an unreadable entry: $why", ({ value, why }) => {
    expect(() => decodeInventory({ data: { bad: value } }, "alpha")).toThrow(`alpha:ConfigMap/bosun-system/bosun-inventory: ${why.startsWith("entry") ? why : `entry bad: ${why}`}`);
  });

  it("refuses a format it does not know", () => {
    expect(() => decodeInventory({ metadata: { annotations: { [INVENTORY_FORMAT_ANNOTATION]: "3" } }, data: {} }, "alpha")).toThrow(
      "inventory format 3 is not one this bosun reads (1, 2); upgrade bosun",
    );
  });
});

describe("pruneList", () => {
  it.each([
    { name: "nothing before", previous: [], rendered: ["ConfigMap/a/x"], want: [] },
    { name: "nothing removed", previous: ["ConfigMap/a/x"], rendered: ["ConfigMap/a/x", "Secret/a/y"], want: [] },
    { name: "removed objects, sorted", previous: ["Secret/a/y", "ConfigMap/a/x", "Deployment/a/z", "ClusterRole/r"], rendered: ["Deployment/a/z"], want: ["ClusterRole/r", "ConfigMap/a/x", "Secret/a/y"] },
    { name: "everything removed", previous: ["b", "a", "a"], rendered: [], want: ["a", "b"] },
    { name: "code-unit order, not locale order", previous: ["b", "B", "a", "A"], rendered: [], want: ["A", "B", "a", "b"] },
  ])("$name", ({ previous, rendered, want }) => {
    expect(pruneList(previous, rendered)).toEqual(want);
  });
});
