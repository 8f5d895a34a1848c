/**
 * `--repo <path>`: a Git repository on this machine, read in place with isomorphic-git and never written
 * to. Its refs are resolved like a remote's (plus remote-tracking refs such as `origin/main`, which is
 * what a CI checkout has), and the commit is then checked out into the cache like a fetched one.
 */
import fs from "node:fs";
import git from "isomorphic-git";
import { InvalidInputError } from "../errors.js";
import { matchRef, type ListedRef } from "./refs.js";
import { peelToCommit, resolveHead, resolveIn, type Peeled, type RepositoryDirs } from "./repository.js";
import type { GitRefSpec } from "./validate.js";

/**
 * The commit `spec` names in `repo`. Throws an `InvalidInputError` naming `--ref` when it names nothing,
 * or something other than a commit. `where` names the repository in messages.
 */
export async function resolveLocalRef(repo: RepositoryDirs, spec: GitRefSpec, where: string, objectCache: object): Promise<string> {
  if (spec.kind === "commit") {
    const peeled = await peelToCommit(repo.gitdir, spec.oid, objectCache);
    return commitOf(peeled, spec.oid, `commit ${spec.oid}`, where);
  }
  const listed = await candidateRefs(repo, spec.name);
  const match = matchRef(spec.name, listed, where, { remoteTracking: true });
  const peeled = await peelToCommit(repo.gitdir, match.peeled ?? match.oid, objectCache);
  return commitOf(peeled, spec.name, match.fullref, where);
}

function commitOf(peeled: Peeled, ref: string, what: string, where: string): string {
  if (peeled.kind === "commit") return peeled.oid;
  if (peeled.kind === "missing") return missing(ref, what, where);
  throw new InvalidInputError(`--ref ${JSON.stringify(ref)}: ${what} in ${where} points to a ${peeled.type}, not a commit`);
}

function missing(ref: string, what: string, where: string): never {
  throw new InvalidInputError(`--ref ${JSON.stringify(ref)}: ${what} not found in ${where}`);
}

/**
 * The refs `name` could mean, resolved, plus every branch and tag name (with an empty oid) so a not-found
 * message can list them. Resolving only the candidates keeps this fast in repositories with many tags.
 */
async function candidateRefs(repo: RepositoryDirs, name: string): Promise<ListedRef[]> {
  const [branches, tags] = await Promise.all([
    git.listBranches({ fs, gitdir: repo.gitdir }),
    git.listTags({ fs, gitdir: repo.gitdir }),
  ]);
  // Name-only entries first; resolved candidates below replace them.
  const listed = new Map<string, ListedRef>();
  for (const ref of [...branches.map((b) => `refs/heads/${b}`), ...tags.map((t) => `refs/tags/${t}`)]) listed.set(ref, { ref, oid: "" });
  const head = name === "HEAD" ? await resolveHead(repo) : undefined;
  if (head !== undefined) listed.set("HEAD", { ref: "HEAD", oid: head });
  const full = name.startsWith("refs/") ? [name] : [`refs/heads/${name}`, `refs/tags/${name}`, `refs/remotes/${name}`];
  for (const ref of full) {
    const oid = await resolveIn(repo.gitdir, ref);
    if (oid === undefined) listed.delete(ref);
    else listed.set(ref, { ref, oid });
  }
  return [...listed.values()];
}
