/**
 * Reading Git repositories on this machine with isomorphic-git (no git binary): finding a repository's
 * object store, reading HEAD, peeling tags to commits. Handles the three layouts a user's checkout can
 * have: `.git` a directory, `.git` a file pointing elsewhere (a submodule or a linked worktree, whose refs
 * live in the main repository's "common dir"), and a bare repository.
 */
import fs from "node:fs/promises";
import path from "node:path";
import git from "isomorphic-git";

/** Where a repository keeps things. */
export interface RepositoryDirs {
  /** Objects and refs (for a linked worktree, the main repository's common dir). */
  gitdir: string;
  /** Where this checkout's HEAD lives (differs from `gitdir` only for a linked worktree). */
  headDir: string;
}

/**
 * The repository whose top directory (work tree root or bare repository) is `dir`, or undefined when
 * `dir` is neither.
 */
export async function repositoryAt(dir: string): Promise<RepositoryDirs | undefined> {
  const dotGit = path.join(dir, ".git");
  const stat = await fs.stat(dotGit).catch(() => undefined);
  if (stat?.isDirectory()) return { gitdir: dotGit, headDir: dotGit };
  if (stat?.isFile()) return linkedRepository(dir, dotGit);
  const bare = await Promise.all(["HEAD", "objects", "refs"].map((name) => fs.stat(path.join(dir, name)).catch(() => undefined)));
  if (bare.every((s) => s !== undefined)) return { gitdir: dir, headDir: dir };
  return undefined;
}

/** A `.git` file (`gitdir: <path>`) and, for a linked worktree, its `commondir`. */
async function linkedRepository(dir: string, dotGitFile: string): Promise<RepositoryDirs | undefined> {
  const text = await fs.readFile(dotGitFile, "utf8");
  const match = /^gitdir: (.+)$/m.exec(text);
  if (!match?.[1]) return undefined;
  const headDir = path.resolve(dir, match[1].trim());
  const common = await fs.readFile(path.join(headDir, "commondir"), "utf8").catch(() => undefined);
  return { gitdir: common === undefined ? headDir : path.resolve(headDir, common.trim()), headDir };
}

/** The commit HEAD points to, or undefined when HEAD is unborn (a repository without commits). */
export async function resolveHead(repo: RepositoryDirs): Promise<string | undefined> {
  if (repo.headDir === repo.gitdir) return resolveIn(repo.gitdir, "HEAD");
  // A linked worktree: HEAD is its own, the branch it names is in the common dir.
  const head = (await fs.readFile(path.join(repo.headDir, "HEAD"), "utf8").catch(() => "")).trim();
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const symbolic = /^ref: (\S+)$/.exec(head)?.[1];
  return symbolic === undefined ? undefined : resolveIn(repo.gitdir, symbolic);
}

/** Resolves a ref (following symbolic refs) to the object id it names, or undefined when it does not exist. */
export async function resolveIn(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch (error) {
    if (codeOf(error) === "NotFoundError") return undefined;
    throw error;
  }
}

/** What an object id turned out to be after peeling tags. */
export type Peeled = { kind: "commit"; oid: string } | { kind: "missing" } | { kind: "not-commit"; type: string };

/**
 * Follows annotated tags from `oid` to the commit they point to (isomorphic-git's `readCommit` peels tags
 * itself and returns the commit's id). `missing` when an object is not in the repository (not fetched
 * yet), `not-commit` for a tree, a blob or a tag of one.
 */
export async function peelToCommit(gitdir: string, oid: string, objectCache: object): Promise<Peeled> {
  try {
    const { oid: commit } = await git.readCommit({ fs, gitdir, oid, cache: objectCache });
    return { kind: "commit", oid: commit };
  } catch (error) {
    const code = codeOf(error);
    if (code === "NotFoundError") return { kind: "missing" };
    if (code === "ObjectTypeError") {
      const actual = (error as Error & { data?: { actual?: unknown } }).data?.actual;
      return { kind: "not-commit", type: typeof actual === "string" ? actual : "non-commit object" };
    }
    throw error;
  }
}

/** The `code` isomorphic-git (and Node) put on their errors. */
export function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
