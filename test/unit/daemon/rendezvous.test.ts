import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ownerOf, rendezvousWeight } from "../../../src/daemon/rendezvous.js";

const names = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
const name = fc.stringMatching(/^[a-z0-9][-a-z0-9]{0,20}$/);

describe("ownerOf", () => {
  it("has no owner without replicas", () => {
    expect(ownerOf("alpha", [])).toBeUndefined();
  });

  it("is the only replica when there is one", () => {
    expect(ownerOf("alpha", ["bosun-0"])).toBe("bosun-0");
  });

  // Pinned values: a change of hash, separator or byte order would make replicas of two bosun versions
  // disagree during an upgrade, so it must show up as a failing test.
  it.each([
    ["alpha", "bosun-0"],
    ["beta", "bosun-2"],
    ["epsilon", "bosun-1"],
  ])("gives %s to %s among bosun-0..2 (stable across versions)", (cluster, owner) => {
    expect(ownerOf(cluster, ["bosun-0", "bosun-1", "bosun-2"])).toBe(owner);
  });

  it("weighs sha256 of replica NUL cluster", () => {
    expect(rendezvousWeight("bosun-0", "alpha").toString("hex")).toBe("f8f0441e8e137a77573de8477b892bf49554706548ce6b4ff2b31afcc97df9d8");
  });

  it("does not depend on the order of the replicas or on duplicates", () => {
    fc.assert(
      fc.property(name, fc.uniqueArray(name, { minLength: 1, maxLength: 8 }), (cluster, replicas) => {
        const owner = ownerOf(cluster, replicas);
        expect(replicas).toContain(owner);
        expect(ownerOf(cluster, [...replicas].reverse())).toBe(owner);
        expect(ownerOf(cluster, [...replicas, ...replicas])).toBe(owner);
      }),
    );
  });

  it("moves only the clusters of a replica that leaves", () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 8 }), fc.uniqueArray(name, { minLength: 1, maxLength: 30 }), fc.nat(), (replicas, clusters, pick) => {
        const leaving = replicas[pick % replicas.length] as string;
        const remaining = replicas.filter((r) => r !== leaving);
        for (const cluster of clusters) {
          const before = ownerOf(cluster, replicas);
          const after = ownerOf(cluster, remaining);
          if (before === leaving) expect(remaining).toContain(after);
          else expect(after).toBe(before);
        }
      }),
    );
  });

  it("moves to a replica that joins only the clusters it wins", () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 8 }), fc.uniqueArray(name, { minLength: 1, maxLength: 30 }), (replicas, clusters) => {
        const [joining, ...before] = replicas as [string, ...string[]];
        for (const cluster of clusters) {
          const after = ownerOf(cluster, replicas);
          if (after !== joining) expect(after).toBe(ownerOf(cluster, before));
        }
      }),
    );
  });

  it("spreads 1000 clusters roughly evenly over 4 replicas", () => {
    const replicas = names("bosun", 4);
    const counts = new Map(replicas.map((r) => [r, 0]));
    for (const cluster of names("cluster", 1000)) {
      const owner = ownerOf(cluster, replicas) as string;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    // 250 expected each; a binomial standard deviation is ~14, so ±60 is over four of them.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(190);
      expect(count).toBeLessThan(310);
    }
  });
});
