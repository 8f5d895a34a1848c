/**
 * A Git bomb served over HTTP: a commit of a few objects whose tree expands to 10^10 files (ten levels of
 * trees that each reference the level below ten times, over one 4 KiB file). `bosun plan --repo` must
 * refuse it with the checkout limit, by itself and without writing the expansion to disk: the cache holds
 * no checked-out entry afterwards, and little more than the (tiny) pack.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { expectSafe, fleetYaml, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
let server: GitServer;
let repo: HostileRepo;
let cacheDir: string;
let url: string;

const GIT_ENV = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/** Builds `<root>/bomb.git` with git plumbing only (hash-object, mktree, commit-tree). */
async function buildBomb(gitdir: string): Promise<void> {
  const git = async (args: string[], input?: string): Promise<string> => (await execa("git", [`--git-dir=${gitdir}`, ...args], { input, env: GIT_ENV })).stdout.trim();
  await execa("git", ["init", "--quiet", "--bare", "--initial-branch=main", gitdir]);
  const file = await git(["hash-object", "-w", "--stdin"], "x".repeat(4096));
  let tree = await git(["mktree"], `100644 blob ${file}\tf\n`);
  for (let level = 0; level < 10; level += 1) {
    tree = await git(["mktree"], `${Array.from({ length: 10 }, (_, i) => `040000 tree ${tree}\td${i}`).join("\n")}\n`);
  }
  const fleet = await git(["hash-object", "-w", "--stdin"], fleetYaml());
  const root = await git(["mktree"], `100644 blob ${fleet}\tfleet.yaml\n040000 tree ${tree}\tjunk\n`);
  const commit = await git(["commit-tree", root, "-m", "bomb"]);
  await git(["update-ref", "refs/heads/main", commit]);
}

/** Entries under `dir`, counted up to `cap` (0 when it does not exist). */
async function countEntries(dir: string, cap: number): Promise<number> {
  let count = 0;
  const pending = [dir];
  while (pending.length > 0 && count < cap) {
    const current = pending.pop() ?? dir;
    for (const entry of await fs.readdir(current, { withFileTypes: true }).catch(() => [])) {
      count += 1;
      if (entry.isDirectory()) pending.push(path.join(current, entry.name));
    }
  }
  return count;
}

/**
 * Samples how many entries the cache's checkouts hold while `work` runs, and returns the most seen: a
 * checkout that writes the expansion and removes it afterwards is caught in the act.
 */
async function peakEntries<T>(dir: string, work: Promise<T>): Promise<{ result: T; peak: number }> {
  const state = { done: false };
  let peak = 0;
  const sampler = (async () => {
    while (!state.done) {
      const sources = await fs.readdir(path.join(dir, "git")).catch(() => [] as string[]);
      for (const source of sources) peak = Math.max(peak, await countEntries(path.join(dir, "git", source, "worktrees"), 10_000));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    state.done = true;
    await sampler;
  }
}

/** Entries and bytes under `dir` (0 when it does not exist). */
async function usage(dir: string): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  const walk = async (current: string): Promise<void> => {
    const list = await fs.readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of list) {
      entries += 1;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else bytes += (await fs.lstat(full)).size;
    }
  };
  await walk(dir);
  return { entries, bytes };
}

beforeAll(async () => {
  server = await startGitServer();
  await buildBomb(path.join(server.root, "bomb.git"));
  url = `${server.url}/bomb.git`;
  repo = await hostileRepo();
  cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bomb-cache-"));
});

afterAll(async () => {
  await server.close();
  await repo.cleanup();
  await fs.rm(cacheDir, { recursive: true, force: true });
});

describe("a Git bomb", () => {
  it("is refused by plan --repo with the entry limit, writing nothing of its tree", async () => {
    // Only the Git cache moves to a temp directory; plan of this fleet needs no sandbox binary.
    const { result, peak } = await peakEntries(cacheDir, runHostile(["plan", "--repo", url, "--ref", "main"], canaries, { cwd: repo.dir, env: { BOSUN_CACHE_DIR: cacheDir } }));
    await expectSafe(repo, canaries, result, { mentions: [/checking out commit [0-9a-f]+ of .*bomb\.git.*: more than 100000 files and directories; refusing the commit/] });
    const sources = await fs.readdir(path.join(cacheDir, "git"));
    expect(sources).toHaveLength(1);
    const worktrees = await usage(path.join(cacheDir, "git", sources[0] ?? "", "worktrees"));
    expect(worktrees).toEqual({ entries: 0, bytes: 0 });
    // Nothing of the tree was written at any time during the run, not only removed at the end. (The one
    // entry allowed is a temporary directory of the checkout, created empty right before writing.)
    expect(peak).toBeLessThanOrEqual(1);
    // The whole cache is the bare repository with its tiny pack, not the expansion.
    expect((await usage(cacheDir)).bytes).toBeLessThan(1024 * 1024);
  });
});
