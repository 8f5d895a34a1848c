/** Taking over the lock of a crashed run on the same machine, and only then. */
import { describe, expect, it } from "vitest";
import { holderIdentity, holderOnThisHostIsGone } from "../../../src/apply/lock.js";

describe("holderOnThisHostIsGone", () => {
  const dead = (): boolean => false;
  const alive = (): boolean => true;

  it("is true for this host and a pid that no longer exists", () => {
    expect(holderOnThisHostIsGone(holderIdentity("a1b2c3", "runner-1", 4242), "runner-1", dead)).toBe(true);
  });

  it("is false for a live pid, another host, our own pid, or an identity bosun did not write", () => {
    expect(holderOnThisHostIsGone(holderIdentity("a1b2c3", "runner-1", 4242), "runner-1", alive)).toBe(false);
    expect(holderOnThisHostIsGone(holderIdentity("a1b2c3", "runner-2", 4242), "runner-1", dead)).toBe(false);
    expect(holderOnThisHostIsGone(holderIdentity("a1b2c3", "runner-1", process.pid), "runner-1", dead)).toBe(false);
    expect(holderOnThisHostIsGone("kubectl-edit", "runner-1", dead)).toBe(false);
  });

  it("checks the real process table by default", () => {
    expect(holderOnThisHostIsGone(holderIdentity("a1b2c3", undefined, 2 ** 22 + 17))).toBe(true);
  });
});
