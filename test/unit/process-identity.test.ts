/** The one process-identity check both locks use: what a token says about its process, seen from here. */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { pidExists, pidOf, processState, processToken, type ProcessState } from "../../src/process-identity.js";

describe("processState", () => {
  const self = "boot-1/4026531836/100/5000";
  const gone = (): string | null => null;
  const startedAt = (tick: string) => (): string | null => tick;
  it.each<[string, () => string | null, ProcessState]>([
    ["boot-1/4026531836/4242/777", startedAt("777"), "running"],
    ["boot-1/4026531836/4242/777", startedAt("999"), "gone"],
    ["boot-1/4026531836/4242/777", gone, "gone"],
    [`boot-1/4026531836/${process.pid}/1`, gone, "running"],
    ["boot-2/4026531836/4242/777", gone, "other-boot"],
    ["boot-1/4026532999/4242/777", gone, "other-namespace"],
    ["4242", gone, "unknown"],
    ["boot-1/4026531836/4242", gone, "unknown"],
    ["boot-1/4026531836/4242/777/extra", gone, "unknown"],
    ["boot-1/4026531836/-1/777", gone, "unknown"],
  ])("%s is %s", (token, startOf, state) => {
    expect(processState(token, self, startOf)).toBe(state);
  });

  it("is unknown where this machine has no token of its own (no /proc)", () => {
    expect(processState("boot-1/4026531836/4242/777", null, () => null)).toBe("unknown");
  });

  it("reads this machine's process table: this process runs, a finished child is gone", async () => {
    const token = processToken();
    if (token === null) return; // not Linux: the cases above cover the logic
    expect(processState(token)).toBe("running");
    const child = execa(process.execPath, ["-e", "0"]);
    const pid = child.pid ?? 0;
    await child;
    const [boot, namespace] = token.split("/");
    expect(processState(`${boot ?? ""}/${namespace ?? ""}/${pid}/1`)).toBe("gone");
    expect(pidExists(pid)).toBe(false);
    expect(pidExists(process.pid)).toBe(true);
  });
});

describe("pidOf", () => {
  it.each([
    ["boot-1/4026531836/4242/777", 4242],
    ["4242\n", 4242],
    ["", undefined],
    ["boot/ns/x/1", undefined],
  ])("%j names pid %s", (recorded, pid) => {
    expect(pidOf(recorded)).toBe(pid);
  });
});
