/**
 * Checking a commit out of an object store into its own directory: files, modes, symlinks and submodules
 * as git writes them; reuse of a finished checkout; and refusal of hostile trees (path traversal, `.git`,
 * symlinks leading out, Git bombs) without leaving anything behind. Trees are written with isomorphic-git
 * into a temporary repository, so they can hold what git itself would never create.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import git, { type TreeEntry } from "isomorphic-git";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkoutCommit, type CheckoutLimits } from "../../../src/source/checkout.js";
import { GitSourceError } from "../../../src/source/errors.js";

let tmp: string;
let gitdir: string;
let worktrees: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-checkout-"));
  gitdir = path.join(tmp, "repo.git");
  worktrees = path.join(tmp, "worktrees");
  await git.init({ fs, gitdir, bare: true });
});

afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

type Node = string | { link: string } | { exec: string } | { submodule: true } | { [name: string]: Node };

async function writeNode(node: Node): Promise<{ mode: string; oid: string; type: TreeEntry["type"] }> {
  if (typeof node === "string") return { mode: "100644", oid: await blob(node), type: "blob" };
  if ("link" in node && typeof node.link === "string") return { mode: "120000", oid: await blob(node.link), type: "blob" };
  if ("exec" in node && typeof node.exec === "string") return { mode: "100755", oid: await blob(node.exec), type: "blob" };
  if ("submodule" in node && node.submodule === true) return { mode: "160000", oid: "5".repeat(40), type: "commit" };
  const tree: TreeEntry[] = [];
  for (const [name, child] of Object.entries(node as Record<string, Node>)) tree.push({ path: name, ...(await writeNode(child)) });
  return { mode: "040000", oid: await git.writeTree({ fs, gitdir, tree }), type: "tree" };
}

async function blob(text: string): Promise<string> {
  return git.writeBlob({ fs, gitdir, blob: Buffer.from(text) });
}

async function commit(root: Record<string, Node>): Promise<string> {
  const { oid: tree } = await writeNode(root);
  const who = { name: "t", email: "t@example.com", timestamp: 0, timezoneOffset: 0 };
  return git.writeCommit({ fs, gitdir, commit: { message: "c\n", tree, parent: [], author: who, committer: who } });
}

function run(oid: string, limits?: CheckoutLimits) {
  return checkoutCommit({ gitdir, commit: oid, worktrees, describe: `commit ${oid.slice(0, 7)} of test`, objectCache: {}, ...(limits ? { limits } : {}) });
}

describe("checkoutCommit", () => {
  it("writes the tree with modes, inner symlinks and submodules, and reuses it the next time", async () => {
    const oid = await commit({
      "fleet.yaml": "kind: Fleet\n",
      clusters: { "alpha.yaml": "kind: Cluster\n" },
      bin: { "hook.sh": { exec: "#!/bin/sh\n" } },
      addons: { base: { "values.yaml": "a: 1\n" }, prod: { "values.yaml": { link: "../base/values.yaml" } } },
      vendor: { submodule: true },
    });
    const first = await run(oid);
    expect(first).toEqual({ dir: path.join(worktrees, oid), reused: false });
    expect(await fs.readFile(path.join(first.dir, "clusters/alpha.yaml"), "utf8")).toBe("kind: Cluster\n");
    expect((await fs.stat(path.join(first.dir, "bin/hook.sh"))).mode & 0o111).not.toBe(0);
    expect((await fs.stat(path.join(first.dir, "fleet.yaml"))).mode & 0o111).toBe(0);
    expect(await fs.readlink(path.join(first.dir, "addons/prod/values.yaml"))).toBe("../base/values.yaml");
    expect(await fs.readFile(path.join(first.dir, "addons/prod/values.yaml"), "utf8")).toBe("a: 1\n");
    expect(await fs.readdir(path.join(first.dir, "vendor"))).toEqual([]);
    expect(await fs.readdir(worktrees)).toEqual([oid]);

    const past = new Date(Date.now() - 3_600_000);
    await fs.utimes(first.dir, past, past);
    const second = await run(oid);
    expect(second).toEqual({ dir: first.dir, reused: true });
    // Reuse counts as use, so the pruner keeps it.
    expect((await fs.stat(first.dir)).mtimeMs).toBeGreaterThan(past.getTime() + 1000);
  });

  it.each<[string, Record<string, Node>, RegExp]>([
    ["a .. entry", { "..": { "evil.yaml": "x" } }, /unsafe path "\.\."/],
    ["a . entry", { ".": "x" }, /unsafe path "\."/],
    ["a .git directory", { ".git": { config: "[core]\n" } }, /unsafe path "\.git"/],
    ["a .GIT directory (case-insensitive file systems)", { sub: { ".GIT": { hooks: "x" } } }, /unsafe path "sub\/\.GIT"/],
    ["a name with a slash", { "a/../../b": "x" }, /unsafe path/],
    ["a name with a backslash", { "a\\..\\b": "x" }, /unsafe path/],
    ["a symlink out of the tree", { "values.yaml": { link: "../../../etc/passwd" } }, /symlink "values\.yaml" (is dangling|points outside the repository)/],
    ["an absolute symlink", { "values.yaml": { link: "/etc/passwd" } }, /symlink "values\.yaml" has an absolute target/],
    ["a dangling symlink", { "values.yaml": { link: "missing.yaml" } }, /symlink "values\.yaml" is dangling/],
    [
      "a symlink chain that escapes although it looks inside",
      { up: { link: "." }, sub: { up: { link: ".." } }, esc: { link: "sub/up/up/up/.." } },
      /symlink "esc" points outside the repository/,
    ],
  ])("refuses %s and leaves nothing behind", async (_what, root, message) => {
    const oid = await commit(root);
    const error = await run(oid).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitSourceError);
    expect((error as GitSourceError).reason).toBe("GitFailed");
    expect((error as Error).message).toMatch(new RegExp(`^checking out commit ${oid.slice(0, 7)} of test: `));
    expect((error as Error).message).toMatch(message);
    expect(await fs.readdir(worktrees)).toEqual([]);
  });

  it.each<[string, Record<string, Node>, CheckoutLimits, RegExp]>([
    ["too many entries (a Git bomb)", { a: "1", b: "2", c: { d: "3", e: "4" } }, { maxEntries: 4, maxBytes: 1e6, maxDepth: 10 }, /more than 4 files and directories/],
    ["too many bytes", { a: "x".repeat(600_000), b: "y".repeat(600_000) }, { maxEntries: 10, maxBytes: 2 ** 20, maxDepth: 10 }, /more than 1 MiB of files/],
    ["too deep", { a: { b: { c: { d: "x" } } } }, { maxEntries: 10, maxBytes: 1e6, maxDepth: 2 }, /nested deeper than 2 directories/],
  ])("caps %s", async (_what, root, limits, message) => {
    const oid = await commit(root);
    await expect(run(oid, limits)).rejects.toThrow(message);
    expect(await fs.readdir(worktrees)).toEqual([]);
  });

  it("refuses a tree with two entries of one name instead of writing through the first", async () => {
    const target = await writeNode({ "x.yaml": "x" });
    const link = await blob(".");
    const tree = await git.writeTree({
      fs,
      gitdir,
      tree: [
        { path: "dup", mode: "120000", oid: link, type: "blob" },
        { path: "dup", ...target },
      ],
    });
    const who = { name: "t", email: "t@example.com", timestamp: 0, timezoneOffset: 0 };
    const oid = await git.writeCommit({ fs, gitdir, commit: { message: "c\n", tree, parent: [], author: who, committer: who } });
    await expect(run(oid)).rejects.toThrow(/duplicate entry "dup"; refusing the commit/);
    expect(await fs.readdir(worktrees)).toEqual([]);
  });
});
