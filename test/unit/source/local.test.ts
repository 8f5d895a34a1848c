/**
 * Local sources, read with isomorphic-git and no git binary: the revision of a `--fleet` directory (the
 * HEAD of the work tree it is in, whatever that work tree's layout), and `--repo <path>` checked out into
 * the cache without writing to the repository.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import git from "isomorphic-git";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { openFleetSource, workTreeRevision } from "../../../src/source/index.js";

let tmp: string;
const author = { name: "t", email: "t@example.com", timestamp: 1_767_225_600, timezoneOffset: 0 };

beforeEach(async () => {
  tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "bosun-local-")));
});

afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A work tree with `files` committed on `main`; returns the commit. */
async function repoWith(dir: string, files: Record<string, string>, message = "c"): Promise<string> {
  await git.init({ fs, dir, defaultBranch: "main" });
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), text);
    await git.add({ fs, dir, filepath: name });
  }
  return git.commit({ fs, dir, message, author });
}

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    out.push(`${path.relative(dir, file)}${entry.isFile() ? `=${await fs.readFile(file, "utf8")}` : ""}`);
  }
  return out.sort();
}

describe("workTreeRevision", () => {
  it("is HEAD of the work tree containing the directory, from any depth", async () => {
    const commit = await repoWith(tmp, { "fleet/fleet.yaml": "kind: Fleet\n" });
    expect(await workTreeRevision(tmp)).toBe(commit);
    expect(await workTreeRevision(path.join(tmp, "fleet"))).toBe(commit);
  });

  it("is null outside any work tree and in a repository without commits", async () => {
    const plain = path.join(tmp, "plain");
    await fs.mkdir(plain);
    expect(await workTreeRevision(plain)).toBeNull();
    const empty = path.join(tmp, "empty");
    await git.init({ fs, dir: empty });
    expect(await workTreeRevision(empty)).toBeNull();
  });

  it("follows a detached HEAD", async () => {
    const first = await repoWith(tmp, { a: "1" });
    await fs.writeFile(path.join(tmp, "a"), "2");
    await git.add({ fs, dir: tmp, filepath: "a" });
    await git.commit({ fs, dir: tmp, message: "second", author });
    await fs.writeFile(path.join(tmp, ".git", "HEAD"), `${first}\n`);
    expect(await workTreeRevision(tmp)).toBe(first);
  });

  it("reads a submodule-style .git file and a linked worktree's HEAD from its common dir", async () => {
    const main = path.join(tmp, "main");
    await repoWith(main, { a: "1" });
    const feature = await git.commit({ fs, dir: main, message: "feature", author, ref: "refs/heads/feature" });
    // git worktree add ../linked feature
    const linked = path.join(tmp, "linked");
    const admin = path.join(main, ".git", "worktrees", "linked");
    await fs.mkdir(admin, { recursive: true });
    await fs.mkdir(linked);
    await fs.writeFile(path.join(linked, ".git"), `gitdir: ${admin}\n`);
    await fs.writeFile(path.join(admin, "HEAD"), "ref: refs/heads/feature\n");
    await fs.writeFile(path.join(admin, "commondir"), "../..\n");
    expect(await workTreeRevision(linked)).toBe(feature);
    // A submodule's .git file points at a complete git directory elsewhere (relative path).
    const sub = path.join(tmp, "sub");
    await fs.mkdir(sub);
    await fs.writeFile(path.join(sub, ".git"), "gitdir: ../main/.git\n");
    expect(await workTreeRevision(sub)).toBe(await git.resolveRef({ fs, dir: main, ref: "HEAD" }));
  });
});

describe("openFleetSource with a local directory", () => {
  it("returns the directory, a local source and the work tree's HEAD", async () => {
    const commit = await repoWith(tmp, { "fleet/fleet.yaml": "kind: Fleet\n" });
    const opened = await openFleetSource({ fleet: "fleet", cwd: tmp });
    expect(opened).toEqual({ dir: path.join(tmp, "fleet"), source: { kind: "local", path: path.join(tmp, "fleet") }, revision: commit });
  });

  it("has a null revision outside Git, and defaults to the current directory", async () => {
    expect(await openFleetSource({ cwd: tmp })).toEqual({ dir: tmp, source: { kind: "local", path: tmp }, revision: null });
  });

  it.each([
    ["missing", /--fleet "missing": no such directory/],
    ["file.yaml", /--fleet "file.yaml": not a directory/],
  ])("refuses %s", async (given, message) => {
    await fs.writeFile(path.join(tmp, "file.yaml"), "x");
    const error = await openFleetSource({ fleet: given, cwd: tmp }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
  });
});

describe("openFleetSource with --repo <local path>", () => {
  let repo: string;
  let cacheDir: string;
  let first: string;
  let second: string;

  beforeEach(async () => {
    repo = path.join(tmp, "repo");
    cacheDir = path.join(tmp, "cache");
    first = await repoWith(repo, { "fleet.yaml": "v: 1\n", "clusters/alpha.yaml": "a\n" }, "first");
    await git.annotatedTag({ fs, dir: repo, ref: "v1", message: "v1", tagger: author });
    await fs.writeFile(path.join(repo, "fleet.yaml"), "v: 2\n");
    await git.add({ fs, dir: repo, filepath: "fleet.yaml" });
    second = await git.commit({ fs, dir: repo, message: "second", author });
  });

  it.each([
    ["main", () => second, "v: 2\n"],
    ["v1", () => first, "v: 1\n"],
    ["refs/tags/v1", () => first, "v: 1\n"],
    ["HEAD", () => second, "v: 2\n"],
    ["commit id", () => first, "v: 1\n"],
  ])("checks out %s into the cache without touching the repository", async (ref, commit, fleetYaml) => {
    const before = await snapshot(path.join(repo, ".git"));
    const opened = await openFleetSource({ repo: "repo", ref: ref === "commit id" ? first : ref, cwd: tmp, cacheDir });
    expect(opened.revision).toBe(commit());
    expect(opened.source).toEqual({ kind: "git", url: repo, ref: ref === "commit id" ? first : ref, commit: commit() });
    expect(opened.dir.startsWith(cacheDir + path.sep)).toBe(true);
    expect(path.basename(opened.dir)).toBe(commit());
    expect(await fs.readFile(path.join(opened.dir, "fleet.yaml"), "utf8")).toBe(fleetYaml);
    expect(await fs.readdir(opened.dir)).toEqual(["clusters", "fleet.yaml"]);
    expect(await snapshot(path.join(repo, ".git"))).toEqual(before);
  });

  it("accepts a bare repository and a remote-tracking ref", async () => {
    await git.writeRef({ fs, dir: repo, ref: "refs/remotes/origin/main", value: first });
    const opened = await openFleetSource({ repo: path.join(repo, ".git"), ref: "origin/main", cacheDir });
    expect(opened.revision).toBe(first);
  });

  it.each([
    ["nope", "repo", /--ref "nope": ref nope not found in .*\/repo \(branches: main; tags: v1\)/],
    ["f".repeat(40), "repo", /--ref "f{40}": commit f{40} not found in/],
    ["main", "missing", /--repo "missing": no such directory/],
    ["main", ".", /--repo ".": not a Git repository/],
    ["main", "git@host:x", /SSH addresses are refused/],
    ["-x", "repo", /--ref "-x": must not begin with "-"/],
  ])("refuses ref %s of %s", async (ref, repoArg, message) => {
    const error = await openFleetSource({ repo: repoArg, ref, cwd: tmp, cacheDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
  });
});
