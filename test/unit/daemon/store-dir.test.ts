/**
 * The directory state store on a real temporary directory: compare-and-swap, replace-by-rename, and
 * refusal of files it did not write, naming the file.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BosunError } from "../../../src/errors.js";
import { StateConflictError, emptyFleetState, updateState, FLEET_KEY, type FleetState } from "../../../src/daemon/state.js";
import { DirectoryStateStore, MAX_STATE_FILE_BYTES } from "../../../src/daemon/store-dir.js";

let dir: string;
let store: DirectoryStateStore;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-state-"));
  store = new DirectoryStateStore(path.join(dir, "state"));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const file = (key: string): string => path.join(dir, "state", `${key}.json`);

async function reason(promise: Promise<unknown>): Promise<BosunError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof BosunError)) throw new Error(`expected a BosunError, got ${String(error)}`);
  return error;
}

describe("DirectoryStateStore", () => {
  it("reads null before the first write, then the value and its version", async () => {
    expect(await store.read("fleet")).toBeNull();
    const version = await store.write("fleet", { a: 1 }, null);
    expect(await store.read("fleet")).toEqual({ value: { a: 1 }, version });
    const next = await store.write("fleet", { a: 2 }, version);
    expect(next).not.toBe(version);
    expect(await store.read("fleet")).toEqual({ value: { a: 2 }, version: next });
  });

  it("refuses a create over an existing document and a write naming a stale version", async () => {
    const first = await store.write("fleet", { a: 1 }, null);
    expect(await reason(store.write("fleet", { a: 9 }, null))).toBeInstanceOf(StateConflictError);
    await store.write("fleet", { a: 2 }, first);
    const stale = await reason(store.write("fleet", { a: 3 }, first));
    expect(stale).toBeInstanceOf(StateConflictError);
    expect(stale.reason).toBe("StateConflict");
    expect(stale.retryable).toBe(true);
    expect((await store.read("fleet"))?.value).toEqual({ a: 2 });
  });

  it("lets exactly one of two racing writers of one version win", async () => {
    const version = await store.write("fleet", { n: 0 }, null);
    const results = await Promise.allSettled([store.write("fleet", { n: 1 }, version), store.write("fleet", { n: 2 }, version)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(StateConflictError);
  });

  it("catches a second store on the same directory through the version it finds", async () => {
    const other = new DirectoryStateStore(path.join(dir, "state"));
    const version = await store.write("fleet", { by: "first" }, null);
    await other.write("fleet", { by: "second" }, version);
    expect(await reason(store.write("fleet", { by: "first again" }, version))).toBeInstanceOf(StateConflictError);
  });

  it("keeps every change of concurrent updateState calls", async () => {
    const other = new DirectoryStateStore(path.join(dir, "state"));
    const approve = (s: DirectoryStateStore, wave: string): Promise<FleetState> =>
      updateState(s, FLEET_KEY, emptyFleetState, (fleet) => ({ ...fleet, approvals: [...fleet.approvals, { wave, revision: "r1", by: "test", at: "2026-01-01T00:00:00Z" }] }));
    await Promise.all([approve(store, "one"), approve(store, "two"), approve(store, "three")]);
    await approve(other, "four");
    const fleet = (await store.read(FLEET_KEY))?.value as FleetState;
    expect(fleet.approvals.map((a) => a.wave).sort()).toEqual(["four", "one", "three", "two"]);
  });

  it("replaces a document by rename: the old file is never written in place, no temporary file stays", async () => {
    const version = await store.write("fleet", { generation: "old" }, null);
    // A hard link keeps the old inode reachable: if the store truncated and rewrote the file, the link
    // would show the new content (or half of it).
    await fs.link(file("fleet"), path.join(dir, "old-inode"));
    await store.write("fleet", { generation: "new", padding: "x".repeat(100_000) }, version);
    expect(JSON.parse(await fs.readFile(path.join(dir, "old-inode"), "utf8"))).toEqual({ version: 1, value: { generation: "old" } });
    expect((await store.read("fleet"))?.value).toMatchObject({ generation: "new" });
    expect(await fs.readdir(path.join(dir, "state"))).toEqual(["fleet.json"]);
  });

  it("ignores a temporary file left by a crash between write and rename", async () => {
    const version = await store.write("fleet", { kept: true }, null);
    await fs.writeFile(`${file("fleet")}.12345.tmp`, '{"version": 7, "val');
    expect(await store.read("fleet")).toEqual({ value: { kept: true }, version });
  });

  it("writes files only its user can read", async () => {
    await store.write("fleet", { a: 1 }, null);
    expect((await fs.stat(file("fleet"))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(dir, "state"))).mode & 0o777).toBe(0o700);
  });

  it.each([
    ["not JSON", "{ not json", "is not JSON"],
    ["JSON without a version", '{"value": {}}', "has no version"],
    ["a version that is not a number", '{"version": "3", "value": {}}', "has no version"],
    ["null", "null", "has no version"],
  ])("refuses a file that is %s, naming it", async (_what, content, problem) => {
    await fs.mkdir(path.join(dir, "state"), { recursive: true });
    await fs.writeFile(file("fleet"), content);
    // One at a time: a second promise made up front could reject before anything awaits it.
    for (const attempt of [() => store.read("fleet"), () => store.write("fleet", {}, "1")]) {
      const error = await reason(attempt());
      expect(error.reason).toBe("InvalidState");
      expect(error.message).toContain(file("fleet"));
      expect(error.message).toContain(problem);
    }
  });

  it("refuses a file larger than the limit without reading it", async () => {
    await fs.mkdir(path.join(dir, "state"), { recursive: true });
    const handle = await fs.open(file("fleet"), "w");
    await handle.truncate(MAX_STATE_FILE_BYTES + 1); // sparse: no 8 MiB written
    await handle.close();
    const error = await reason(store.read("fleet"));
    expect(error.reason).toBe("InvalidState");
    expect(error.message).toContain(file("fleet"));
    expect(error.message).toContain("larger than");
  });

  it("refuses a directory where a file should be", async () => {
    await fs.mkdir(file("fleet"), { recursive: true });
    const error = await reason(store.read("fleet"));
    expect(error.message).toContain(`${file("fleet")} is not a regular file`);
  });

  it.each(["Fleet", "../escape", "a/b", "-lead", "trail-", "", "x".repeat(254)])("refuses the key %j before touching the disk", async (key) => {
    const error = await reason(store.read(key));
    expect(error.message).toContain("is not a DNS-1123 name");
    await expect(fs.stat(path.join(dir, "state"))).rejects.toThrow();
  });
});
