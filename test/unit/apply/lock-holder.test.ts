/** Taking over the lock of a crashed run on the same machine and in the same pid namespace, and only then. */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { holderIsGone } from "../../../src/apply/lock.js";
import { processToken } from "../../../src/process-identity.js";

describe("holderIsGone", () => {
  const self = "boot-1/4026531836/100/5000";

  it("is true for our boot and pid namespace when the pid is gone or was reused by a later process", () => {
    expect(holderIsGone("boot-1/4026531836/4242/777", self, () => null)).toBe(true);
    expect(holderIsGone("boot-1/4026531836/4242/777", self, () => "999")).toBe(true);
  });

  it("is false for a live holder, another boot or pid namespace (another container), or no token", () => {
    expect(holderIsGone("boot-1/4026531836/4242/777", self, () => "777")).toBe(false);
    expect(holderIsGone("boot-2/4026531836/4242/777", self, () => null)).toBe(false);
    expect(holderIsGone("boot-1/4026532999/4242/777", self, () => null)).toBe(false);
    expect(holderIsGone(undefined, self, () => null)).toBe(false);
    expect(holderIsGone("boot-1/4026531836/4242/777", null, () => null)).toBe(false);
    expect(holderIsGone(`boot-1/4026531836/${process.pid}/1`, self, () => null)).toBe(false);
  });

  it("reads this machine's process table: a finished child is gone, this process is not", async () => {
    const child = execa(process.execPath, ["-e", "0"]);
    const pid = child.pid ?? 0;
    expect((await child).exitCode).toBe(0);
    const token = processToken();
    if (token === null) return; // not Linux: no takeover at all, which the cases above cover
    const [boot, namespace] = token.split("/");
    expect(holderIsGone(`${boot ?? ""}/${namespace ?? ""}/${pid}/1`)).toBe(true);
    expect(holderIsGone(processToken(process.ppid) ?? undefined)).toBe(false);
  });
});
