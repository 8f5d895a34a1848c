/**
 * The revision of a local fleet directory: the HEAD commit of the Git work tree containing it, or null when
 * it is in none (or the repository has no commit yet). Uncommitted changes are not reflected: the revision
 * says which commit the files started from, as `git rev-parse HEAD` would.
 */
import fs from "node:fs";
import git from "isomorphic-git";
import { codeOf, repositoryAt, resolveHead } from "./repository.js";

/** HEAD of the work tree containing `dir` (found by walking up to a `.git`), or null. */
export async function workTreeRevision(dir: string): Promise<string | null> {
  let root: string;
  try {
    root = await git.findRoot({ fs, filepath: dir });
  } catch (error) {
    if (codeOf(error) === "NotFoundError") return null;
    throw error;
  }
  const repo = await repositoryAt(root);
  if (repo === undefined) return null;
  return (await resolveHead(repo)) ?? null;
}

/**
 * The top directory of the Git work tree containing `dir` (found by walking up to a `.git`), or null. A
 * fleet in a subdirectory shares its repository with everything else in it, and a pull request can
 * change all of that.
 */
export async function workTreeRoot(dir: string): Promise<string | null> {
  try {
    return await git.findRoot({ fs, filepath: dir });
  } catch (error) {
    if (codeOf(error) === "NotFoundError") return null;
    throw error;
  }
}
