/**
 * The `incomplete` mark of a Kustomize add-on's inventory entry: stored only when set, read back as
 * written, and an entry written by an older bosun (without the field) is complete.
 */
import { describe, expect, it } from "vitest";
import { decodeInventory, encodeEntry } from "../../../src/addons/inventory.js";

const objects = [{ id: "Deployment/app/web", apiVersion: "apps/v1" }];

describe("the incomplete mark", () => {
  it("is stored only when set, and read back", () => {
    const marked = encodeEntry({ kind: "kustomize", namespace: null, seq: 1, objects, secretPaths: [], incomplete: true });
    const plain = encodeEntry({ kind: "kustomize", namespace: null, seq: 2, objects, secretPaths: [] });
    expect(JSON.parse(marked)).toMatchObject({ incomplete: true });
    expect(plain).not.toContain("incomplete");
    const entries = decodeInventory({ data: { web: marked, other: plain } }, "alpha");
    expect(entries.map((e) => [e.name, e.incomplete])).toEqual([["web", true], ["other", undefined]]);
    expect(entries[1]).not.toHaveProperty("incomplete");
  });

  it("is absent from entries an older bosun wrote, and only `true` counts", () => {
    const older = JSON.stringify({ kind: "kustomize", namespace: null, seq: 1, objects });
    const odd = JSON.stringify({ kind: "kustomize", namespace: null, seq: 2, objects, incomplete: "yes" });
    expect(decodeInventory({ data: { web: older, app: odd } }, "alpha").map((e) => e.incomplete)).toEqual([undefined, undefined]);
  });
});
