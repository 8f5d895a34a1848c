/** The values diff of a Helm add-on: masked, stable, null when nothing changes. */
import { describe, expect, it } from "vitest";
import { diffValues } from "../../../src/addons/observe.js";

const secret = [["auth", "token"]] as const;

describe("diffValues", () => {
  it("is null when the release's values equal the desired ones (key order does not matter)", () => {
    expect(diffValues({ b: 1, a: { token: "x" } }, { a: { token: "x" }, b: 1 }, [])).toBeNull();
  });

  it("is null when only equal secret values are present", () => {
    expect(diffValues({ auth: { token: "s1" } }, { auth: { token: "s1" } }, secret)).toBeNull();
  });

  it("shows a changed secret value as changed, without either value", () => {
    const diff = diffValues({ auth: { token: "old-secret" }, replicas: 1 }, { auth: { token: "new-secret" }, replicas: 2 }, secret) ?? "";
    expect(diff.split("\n").filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-  token: "(masked: before)"',
      "-replicas: 1",
      '+  token: "(masked: after)"',
      "+replicas: 2",
    ]);
    expect(diff).not.toContain("old-secret");
    expect(diff).not.toContain("new-secret");
    expect(diff.startsWith("--- release/values.yaml\n+++ desired/values.yaml\n")).toBe(true);
  });

  it("adds every desired value when there is no release", () => {
    const diff = diffValues({}, { message: "hi", auth: { token: "t" } }, secret, false) ?? "";
    expect(diff).toBe("--- /dev/null\n+++ desired/values.yaml\n@@ -0,0 +1,3 @@\n+auth:\n+  token: (masked)\n+message: hi\n");
    expect(diffValues({}, {}, [], false)).toBeNull();
  });
});
