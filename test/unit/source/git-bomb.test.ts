/**
 * A Git bomb (trees referencing the same tree over and over: a few objects that expand to 10^10 entries)
 * is refused from the object store alone: the checkout measures each distinct tree once, so nothing of
 * the commit is written, however far it would expand. The repository is built with real `git` plumbing.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { checkoutCommit } from "../../../src/source/checkout.js";
import { GitSourceError } from "../../../src/source/errors.js";

let tmp: string;
let gitdir: string;
let worktrees: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bomb-"));
  gitdir = path.join(tmp, "repo.git");
  worktrees = path.join(tmp, "worktrees");
  await execa("git", ["init", "--quiet", "--bare", gitdir]);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(tmp, { recursive: true, force: true });
});

async function git(args: string[], input?: string): Promise<string> {
  const env = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" };
  return (await execa("git", [`--git-dir=${gitdir}`, ...args], { input, env })).stdout.trim();
}

/** A commit whose tree is `levels` levels of `fanOut` references to the level below, over one file. */
async function bomb(levels: number, fanOut: number, fileText: string): Promise<string> {
  const blob = await git(["hash-object", "-w", "--stdin"], fileText);
  let tree = await git(["mktree"], `100644 blob ${blob}\tf\n`);
  for (let level = 0; level < levels; level += 1) {
    const lines = Array.from({ length: fanOut }, (_, i) => `040000 tree ${tree}\td${i}`).join("\n");
    tree = await git(["mktree"], `${lines}\n`);
  }
  const commit = await git(["commit-tree", tree, "-m", "bomb"]);
  await git(["update-ref", "refs/heads/main", commit]);
  return commit;
}

describe("a Git bomb", () => {
  it("is refused before a single file or directory of it is written", async () => {
    const oid = await bomb(10, 10, "x".repeat(4096));
    const writes = vi.spyOn(fs, "writeFile");
    const mkdirs = vi.spyOn(fs, "mkdir");
    const error = await checkoutCommit({ gitdir, commit: oid, worktrees, describe: `commit ${oid.slice(0, 7)} of bomb`, objectCache: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitSourceError);
    expect((error as GitSourceError).reason).toBe("GitFailed");
    expect((error as Error).message).toBe(`checking out commit ${oid.slice(0, 7)} of bomb: more than 100000 files and directories; refusing the commit`);
    expect(writes).not.toHaveBeenCalled();
    // Only the (empty) parent of all checkouts may be created.
    expect(mkdirs.mock.calls.map((call) => call[0])).toEqual([worktrees]);
    expect(await fs.readdir(worktrees)).toEqual([]);
  });

  it("is refused for its bytes when its entries are few", async () => {
    const oid = await bomb(3, 10, "x".repeat(2 * 1024 * 1024));
    await expect(
      checkoutCommit({ gitdir, commit: oid, worktrees, describe: "bomb", objectCache: {}, limits: { maxEntries: 100_000, maxBytes: 1024 * 2 ** 20, maxDepth: 64 } }),
    ).rejects.toThrow("checking out bomb: more than 1024 MiB of files; refusing the commit");
    expect(await fs.readdir(worktrees)).toEqual([]);
  });
});
