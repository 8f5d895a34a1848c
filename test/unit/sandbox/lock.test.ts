import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, ownerIsGone } from "../../../src/lock.js";
import { pidOf, processToken } from "../../../src/process-identity.js";

describe("build lock", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-lock-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("lets one holder in at a time and tells the waiter who holds it", async () => {
    const lock = path.join(dir, ".lock-x");
    const events: string[] = [];
    const release = await acquireLock(lock, () => events.push("unexpected wait"));
    const waiting: (number | undefined)[] = [];
    const second = acquireLock(lock, (holder) => waiting.push(holder)).then((r) => {
      events.push("second in");
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(events).toEqual([]);
    expect(waiting).toEqual([process.pid]);
    events.push("first out");
    await release();
    await (await second)();
    expect(events).toEqual(["first out", "second in"]);
  });

  it("takes over a lock whose holder died", async () => {
    const lock = path.join(dir, ".lock-y");
    await fs.mkdir(lock);
    // A pid that exited: a short-lived child's.
    const child = await execa(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    await fs.writeFile(path.join(lock, "owner"), `${child.stdout}\n`);
    const release = await acquireLock(lock, () => {
      throw new Error("should not wait for a dead holder");
    });
    expect(pidOf(await fs.readFile(path.join(lock, "owner"), "utf8"))).toBe(process.pid);
    await release();
  });

  it("records its owner as a process token where /proc tells one", async () => {
    const lock = path.join(dir, ".lock-t");
    const release = await acquireLock(lock, () => undefined);
    expect((await fs.readFile(path.join(lock, "owner"), "utf8")).trim()).toBe(processToken() ?? String(process.pid));
    await release();
  });

  it("takes over at once a lock whose owner's pid now belongs to a later process, or whose owner ran before a reboot", async () => {
    const self = processToken();
    if (self === null) return; // not Linux: owners are bare pids, covered above
    const [boot, namespace] = self.split("/");
    // The parent process is alive, but it did not start at tick 1: its pid was "reused".
    for (const owner of [`${boot ?? ""}/${namespace ?? ""}/${process.ppid}/1`, `another-boot/${namespace ?? ""}/${process.ppid}/1`]) {
      const lock = path.join(dir, ".lock-r");
      await fs.mkdir(lock);
      await fs.writeFile(path.join(lock, "owner"), `${owner}\n`);
      const release = await acquireLock(lock, () => {
        throw new Error(`should not wait for ${owner}`);
      });
      expect(pidOf(await fs.readFile(path.join(lock, "owner"), "utf8"))).toBe(process.pid);
      await release();
    }
  });

  it.each([
    ["two processes contending for a free lock", 2, false],
    ["six processes contending for a lock whose holder died", 6, true],
  ])("serialises %s", async (_what, count, stale) => {
    const lock = path.join(dir, ".lock-z");
    if (stale) {
      await fs.mkdir(lock);
      const child = await execa(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
      await fs.writeFile(path.join(lock, "owner"), `${child.stdout}\n`);
    }
    const log = path.join(dir, "log");
    const lockModule = path.resolve(import.meta.dirname, "../../../dist/lock.js");
    const script = `
      const { acquireLock } = await import(${JSON.stringify(lockModule)});
      const fs = await import("node:fs/promises");
      const release = await acquireLock(${JSON.stringify(lock)}, () => {});
      await fs.appendFile(${JSON.stringify(log)}, "in " + process.pid + "\\n");
      await new Promise((r) => setTimeout(r, 300));
      await fs.appendFile(${JSON.stringify(log)}, "out " + process.pid + "\\n");
      await release();`;
    await Promise.all(Array.from({ length: count }, () => execa(process.execPath, ["--input-type=module", "-e", script])));
    const lines = (await fs.readFile(log, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(2 * count);
    // in A, out A, in B, out B, …: never two holders at once.
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]?.split(" ")[0]).toBe("in");
      expect(lines[i + 1]).toBe(`out ${lines[i]?.split(" ")[1] ?? ""}`);
    }
  }, 60_000);
});

describe("ownerIsGone", () => {
  const self = "boot-1/4026531836/100/5000";
  it.each([
    ["a token of this boot and pid namespace whose pid is gone", "boot-1/4026531836/4242/777", () => null, true],
    ["a token of this boot and pid namespace whose pid a later process reused", "boot-1/4026531836/4242/777", () => "999", true],
    ["a token from before a reboot", "boot-0/4026531836/4242/777", () => "777", true],
    ["a token of a running owner", "boot-1/4026531836/4242/777", () => "777", false],
    ["a token from another pid namespace (a container sharing the directory)", "boot-1/4026532999/4242/777", () => null, false],
    ["this process's bare pid", String(process.pid), () => null, false],
  ])("%s: %s", (_what, recorded, startOf, gone) => {
    expect(ownerIsGone(recorded, self, startOf)).toBe(gone);
  });
});
