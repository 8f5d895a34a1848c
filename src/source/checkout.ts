/**
 * Writes one commit's tree into its own directory, `worktrees/<commit>`, read straight from the object
 * store. bosun does not use isomorphic-git's `checkout` here: that writes the shared repository's index
 * (and by default HEAD), and would make two checkouts from one cache depend on each other. The tree is
 * written under a temporary name and renamed into place, so a directory named after a commit is always
 * complete and can be reused by every later plan of that commit.
 *
 * The repository is untrusted input. Entry names that could leave the directory (`..`, `/`, `.git`) are
 * refused; every file and directory is created fresh (never through an existing path), so a symlink in
 * the tree cannot redirect a later write; every symlink must resolve inside the tree; and file count,
 * bytes and depth are capped, so a "Git bomb" (a tiny pack that expands to millions of files) cannot
 * fill the disk. The caps are checked on the object store before the first file is written: each
 * distinct tree is measured once and counted as often as it is referenced, so a bomb costs as much as
 * the few objects it is made of.
 */
import fs from "node:fs/promises";
import path from "node:path";
import git, { type TreeEntry } from "isomorphic-git";
import { TEMP_PREFIX } from "./cache.js";
import { GitSourceError, formatBytes } from "./errors.js";
import { codeOf } from "./repository.js";

/** Caps on what one checkout may write. */
export interface CheckoutLimits {
  maxEntries: number;
  maxBytes: number;
  maxDepth: number;
}

/** Defaults: far above any fleet repository, far below what would hurt the machine. */
export const CHECKOUT_LIMITS: CheckoutLimits = { maxEntries: 100_000, maxBytes: 1024 * 2 ** 20, maxDepth: 64 };

/** One checkout's inputs. */
export interface CheckoutOptions {
  /** Repository holding the commit (the cache's bare repository, or a local repository). */
  gitdir: string;
  /** Full commit id. */
  commit: string;
  /** Parent directory of the per-commit trees. */
  worktrees: string;
  /** Names the source in messages, e.g. `commit 1a2b3c4 of https://host/fleet.git`. */
  describe: string;
  /** isomorphic-git's object cache, shared with the fetch that came before. */
  objectCache: object;
  limits?: CheckoutLimits;
}

/** A checked-out commit: its directory and whether an earlier run had already written it. */
export interface Checkout {
  dir: string;
  reused: boolean;
}

/**
 * Returns `worktrees/<commit>`, writing it first when absent. Call it under the cache lock. A reused tree's
 * modification time is bumped, which is what `pruneWorktrees` reads as "last used".
 */
export async function checkoutCommit(options: CheckoutOptions): Promise<Checkout> {
  const dir = path.join(options.worktrees, options.commit);
  if (await exists(dir)) {
    const now = new Date();
    await fs.utimes(dir, now, now);
    return { dir, reused: true };
  }
  await fs.mkdir(options.worktrees, { recursive: true });
  const { commit } = await git.readCommit({ fs, gitdir: options.gitdir, oid: options.commit, cache: options.objectCache });
  const writer = new TreeWriter(options);
  // Measured before anything of the commit is written: a Git bomb is refused after reading its few
  // distinct objects, not after writing files until a limit trips.
  await writer.measure(commit.tree);
  const temp = path.join(options.worktrees, `${TEMP_PREFIX}${options.commit}-${process.pid}`);
  await fs.rm(temp, { recursive: true, force: true });
  await fs.mkdir(temp);
  try {
    await writer.writeTree(commit.tree, temp, "", 0);
    await checkSymlinks(temp, writer.symlinks, options.describe);
    await fs.rename(temp, dir);
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { dir, reused: false };
}

/** What a tree expands to when checked out: entries below it, bytes of its files, and its height. */
interface TreeSize {
  entries: number;
  bytes: number;
  height: number;
}

class TreeWriter {
  readonly symlinks: string[] = [];
  private entries = 0;
  private bytes = 0;
  private readonly limits: CheckoutLimits;
  /** Sizes of trees and blobs already measured, by object id: each distinct object is read once. */
  private readonly treeSizes = new Map<string, TreeSize>();
  private readonly blobSizes = new Map<string, number>();

  constructor(private readonly options: CheckoutOptions) {
    this.limits = options.limits ?? CHECKOUT_LIMITS;
  }

  /**
   * Refuses the commit when its tree would expand past a limit. A tree referenced many times (the shape of
   * a Git bomb) is measured once and counted as often as it is referenced, so the work is proportional to
   * the distinct objects the pack holds, not to what they expand to.
   */
  async measure(treeOid: string): Promise<void> {
    const size = await this.measureTree(treeOid, "", 0);
    this.checkSize(size);
  }

  private async measureTree(oid: string, relative: string, depth: number): Promise<TreeSize> {
    const known = this.treeSizes.get(oid);
    if (known) return known;
    if (depth > this.limits.maxDepth) this.refuse(`${relative}: nested deeper than ${this.limits.maxDepth} directories`);
    const size: TreeSize = { entries: 0, bytes: 0, height: 0 };
    for (const entry of await this.readTree(oid, relative)) {
      const where = relative === "" ? entry.path : `${relative}/${entry.path}`;
      size.entries += 1;
      const mode = entry.mode.padStart(6, "0");
      if (mode === "040000") {
        const below = await this.measureTree(entry.oid, where, depth + 1);
        size.entries += below.entries;
        size.bytes += below.bytes;
        size.height = Math.max(size.height, below.height + 1);
      } else if (mode === "100644" || mode === "100755" || mode === "120000") {
        size.bytes += await this.blobSize(entry.oid);
      }
      this.checkSize(size);
    }
    this.treeSizes.set(oid, size);
    return size;
  }

  private checkSize(size: TreeSize): void {
    if (size.entries > this.limits.maxEntries) this.refuse(`more than ${this.limits.maxEntries} files and directories`);
    if (size.bytes > this.limits.maxBytes) this.refuse(`more than ${formatBytes(this.limits.maxBytes)} of files`);
    if (size.height > this.limits.maxDepth) this.refuse(`nested deeper than ${this.limits.maxDepth} directories`);
  }

  private async blobSize(oid: string): Promise<number> {
    const known = this.blobSizes.get(oid);
    if (known !== undefined) return known;
    const { blob } = await git.readBlob({ fs, gitdir: this.options.gitdir, oid, cache: this.options.objectCache });
    this.blobSizes.set(oid, blob.byteLength);
    return blob.byteLength;
  }

  async writeTree(treeOid: string, dir: string, relative: string, depth: number): Promise<void> {
    if (depth > this.limits.maxDepth) this.refuse(`${relative}: nested deeper than ${this.limits.maxDepth} directories`);
    const tree = await this.readTree(treeOid, relative);
    for (const entry of tree) {
      const name = entry.path;
      const where = relative === "" ? name : `${relative}/${name}`;
      if (!safeName(name)) this.refuse(`unsafe path ${JSON.stringify(where)}`);
      this.entries += 1;
      if (this.entries > this.limits.maxEntries) this.refuse(`more than ${this.limits.maxEntries} files and directories`);
      const target = path.join(dir, name);
      try {
        await this.writeEntry(entry, target, where, depth);
      } catch (error) {
        // Two entries of one name: the second must not be written through (or into) the first.
        if (codeOf(error) === "EEXIST") this.refuse(`duplicate entry ${JSON.stringify(where)}`);
        throw error;
      }
    }
  }

  private async writeEntry(entry: TreeEntry, target: string, where: string, depth: number): Promise<void> {
    const mode = entry.mode.padStart(6, "0");
    if (mode === "040000") {
      // Non-recursive mkdir fails if anything (a duplicate entry, a symlink) is already there.
      await fs.mkdir(target);
      await this.writeTree(entry.oid, target, where, depth + 1);
    } else if (mode === "160000") {
      // A submodule: like git without --recurse-submodules, an empty directory.
      await fs.mkdir(target);
    } else if (mode === "120000") {
      const linkTarget = Buffer.from(await this.readBlob(entry.oid)).toString("utf8");
      // An absolute target names something on whatever machine checks the tree out: never the repository.
      if (path.isAbsolute(linkTarget)) this.refuse(`symlink ${JSON.stringify(where)} has an absolute target`);
      await fs.symlink(linkTarget, target);
      this.symlinks.push(where);
    } else if (mode === "100644" || mode === "100755") {
      // "wx": never write through something already at this path.
      await fs.writeFile(target, await this.readBlob(entry.oid), { flag: "wx", mode: mode === "100755" ? 0o755 : 0o644 });
    } else {
      this.refuse(`${JSON.stringify(where)} has unknown mode ${entry.mode}`);
    }
  }

  private async readTree(oid: string, relative: string): Promise<TreeEntry[]> {
    try {
      return (await git.readTree({ fs, gitdir: this.options.gitdir, oid, cache: this.options.objectCache })).tree;
    } catch (error) {
      // isomorphic-git refuses to parse a tree with a traversal or `.git` name (including the HFS+ and NTFS
      // spellings of `.git`); that is the same refusal as safeName's, one layer down.
      if (codeOf(error) !== "UnsafeFilepathError") throw error;
      const name = (error as Error & { data?: { filepath?: unknown } }).data?.filepath;
      const shown = typeof name === "string" ? (relative === "" ? name : `${relative}/${name}`) : relative;
      return this.refuse(`unsafe path ${JSON.stringify(shown)}`);
    }
  }

  private async readBlob(oid: string): Promise<Uint8Array> {
    const { blob } = await git.readBlob({ fs, gitdir: this.options.gitdir, oid, cache: this.options.objectCache });
    this.bytes += blob.byteLength;
    if (this.bytes > this.limits.maxBytes) this.refuse(`more than ${formatBytes(this.limits.maxBytes)} of files`);
    return blob;
  }

  private refuse(problem: string): never {
    throw new GitSourceError(`checking out ${this.options.describe}: ${problem}; refusing the commit`);
  }
}

/** A tree entry name that stays inside its directory and is not Git's own directory. */
export function safeName(name: string): boolean {
  if (name === "" || name === "." || name === "..") return false;
  if (name.includes("/") || name.includes("\\") || name.includes("\0")) return false;
  return name.toLowerCase() !== ".git";
}

/**
 * Every symlink must resolve (through any chain of links) to a path inside the tree. Checked after the
 * whole tree is written, with realpath, because a lexical check is fooled by links to links.
 */
async function checkSymlinks(root: string, links: readonly string[], describe: string): Promise<void> {
  const realRoot = await fs.realpath(root);
  for (const link of links) {
    const resolved = await fs.realpath(path.join(root, link)).catch(() => undefined);
    const inside = resolved !== undefined && (resolved === realRoot || resolved.startsWith(realRoot + path.sep));
    if (!inside) {
      throw new GitSourceError(
        `checking out ${describe}: symlink ${JSON.stringify(link)} ${resolved === undefined ? "is dangling" : "points outside the repository"}; refusing the commit`,
      );
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
