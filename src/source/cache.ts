/**
 * The Git cache, outside any repository: one directory per source, named by a hash of its credential-free
 * URL (or of a local repository's real path), holding a bare repository that fetches reuse, one checked-out
 * tree per commit, and a lock so two bosun processes never fetch into the same repository at once.
 *
 * ```
 * <cacheDir>/<sha256(source)[0:32]>/
 *   source             the URL or path, for people looking at the cache
 *   lock/              held while fetching and checking out (src/lock.ts)
 *   repo.git/          bare repository, shallow, written only by isomorphic-git
 *   worktrees/<commit> the commit's files, renamed into place complete
 * ```
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import git from "isomorphic-git";
import { cacheRoot } from "../paths.js";
import { acquireLock } from "../lock.js";

/** Default cache directory: `<bosun cache>/git` (BOSUN_CACHE_DIR, XDG_CACHE_HOME or ~/.cache). */
export function defaultGitCacheDir(): string {
  return path.join(cacheRoot(), "git");
}

/** Paths of one source's cache directory. */
export interface SourceCache {
  /** `<cacheDir>/<key>`. */
  root: string;
  /** The bare repository fetches go into. */
  gitdir: string;
  /** Parent of the per-commit trees. */
  worktrees: string;
  lock: string;
}

/** Prefix of directories being written; anything left with it was abandoned by a killed process. */
export const TEMP_PREFIX = ".tmp-";

/**
 * A bare repository with more packs than this is started afresh. isomorphic-git cannot repack, and every
 * fetch adds a pack, so a long-running daemon would otherwise slow every object lookup over time.
 */
export const MAX_PACKS = 64;

/** A checked-out tree not used for this long is removed when the cache is next opened. */
export const WORKTREE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** The cache directory for `identity` (`url:<url>` or `path:<realpath>`) under `cacheDir`. */
export function sourceCache(cacheDir: string, identity: string): SourceCache {
  const key = createHash("sha256").update(identity).digest("hex").slice(0, 32);
  const root = path.join(cacheDir, key);
  return { root, gitdir: path.join(root, "repo.git"), worktrees: path.join(root, "worktrees"), lock: path.join(root, "lock") };
}

/**
 * Runs `work` holding the cache's lock. A fleet repository may be private, so the directories are created
 * for the current user only. Leftovers of a process killed mid-write are removed first: under the lock
 * nobody else can be writing them.
 */
export async function withCacheLock<T>(
  cache: SourceCache,
  displayName: string,
  onWait: (holder: number | undefined) => void,
  work: () => Promise<T>,
): Promise<T> {
  await fs.mkdir(cache.root, { recursive: true, mode: 0o700 });
  const release = await acquireLock(cache.lock, onWait);
  try {
    await fs.writeFile(path.join(cache.root, "source"), `${displayName}\n`);
    await removeTemporaries(cache);
    return await work();
  } finally {
    await release();
  }
}

async function removeTemporaries(cache: SourceCache): Promise<void> {
  for (const dir of [cache.root, cache.worktrees]) {
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Makes sure `cache.gitdir` is a bare repository whose `origin` is `url`, creating it (atomically: built
 * under a temporary name, then renamed) when missing or when it has grown past `MAX_PACKS`. The URL is
 * the credential-free one: credentials only ever pass through isomorphic-git's `onAuth`.
 */
export async function ensureBareRepository(cache: SourceCache, url: string): Promise<void> {
  const packs = await countPacks(cache.gitdir);
  if (packs !== undefined && packs <= MAX_PACKS) return;
  await fs.rm(cache.gitdir, { recursive: true, force: true });
  const temp = path.join(cache.root, `${TEMP_PREFIX}repo-${process.pid}`);
  await fs.rm(temp, { recursive: true, force: true });
  await git.init({ fs, gitdir: temp, bare: true, defaultBranch: "main" });
  await git.addRemote({ fs, gitdir: temp, remote: "origin", url });
  await fs.rename(temp, cache.gitdir);
}

/** Number of packfiles, or undefined when `gitdir` is not an initialised repository. */
async function countPacks(gitdir: string): Promise<number | undefined> {
  const hasConfig = await fs.stat(path.join(gitdir, "config")).then(
    () => true,
    () => false,
  );
  if (!hasConfig) return undefined;
  const names = await fs.readdir(path.join(gitdir, "objects", "pack")).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(".pack")).length;
}

/**
 * Removes checked-out trees last used more than `maxAgeMs` ago, except `keep`. Runs under the cache lock;
 * a tree in use by a running plan was touched when that plan opened it, so it is never this old.
 */
export async function pruneWorktrees(cache: SourceCache, keep: string, now: number, maxAgeMs: number = WORKTREE_MAX_AGE_MS): Promise<void> {
  const names = await fs.readdir(cache.worktrees).catch(() => [] as string[]);
  for (const name of names) {
    const dir = path.join(cache.worktrees, name);
    if (dir === keep) continue;
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && now - stat.mtimeMs > maxAgeMs) await fs.rm(dir, { recursive: true, force: true });
  }
}
