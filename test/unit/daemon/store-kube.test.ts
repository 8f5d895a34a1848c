import { describe, expect, it } from "vitest";
import { configMapName, stateLabelValue } from "../../../src/daemon/store-kube.js";

describe("configMapName", () => {
  it("prefixes the key", () => {
    expect(configMapName("cluster-alpha")).toBe("bosun-state-cluster-alpha");
  });

  it("takes keys up to the 253 characters of an object name, no longer", () => {
    expect(configMapName("a".repeat(241))).toHaveLength(253);
    expect(() => configMapName("a".repeat(242))).toThrow('is not a DNS-1123 name of at most 241 characters');
  });

  it.each(["Fleet", "a_b", "-a", "a-", "", "a.b"])("refuses %j", (key) => {
    expect(() => configMapName(key)).toThrow("is not a DNS-1123 name");
  });
});

describe("stateLabelValue", () => {
  it("is the key while it fits a label value", () => {
    expect(stateLabelValue("fleet")).toBe("fleet");
    expect(stateLabelValue("c".repeat(63))).toBe("c".repeat(63));
  });

  it("shortens a longer key to 63 characters, keeping distinct keys distinct", () => {
    const long = `cluster-${"x".repeat(63)}`;
    const other = `cluster-${"x".repeat(62)}y`;
    expect(stateLabelValue(long).length).toBeLessThanOrEqual(63);
    expect(stateLabelValue(long)).toMatch(/^cluster-x+-[0-9a-f]{10}$/);
    expect(stateLabelValue(long)).not.toBe(stateLabelValue(other));
  });
});
