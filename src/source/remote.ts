/**
 * Brings the commit a ref names into the cache's bare repository, fetching only what that needs:
 *
 * - branch or tag: one ls-remote (a single GET) tells the commit; if the cache has it, nothing is fetched.
 *   Otherwise one shallow fetch (`depth: 1`, `singleBranch`) of that ref, with tags only for a tag.
 * - full commit id: if the cache has it, no request at all. Otherwise the commit is asked for directly at
 *   depth 1; if the server does not hand it out, the whole history is fetched (see `fetchCommit`).
 *
 * Errors from isomorphic-git are left for the caller to wrap; what this module throws itself is an
 * `InvalidInputError` naming `--ref` (the ref is not there) or a `GitSourceError`.
 */
import fs from "node:fs";
import git, { type HttpClient } from "isomorphic-git";
import { InvalidInputError } from "../errors.js";
import type { AuthSession } from "./credentials.js";
import { GitSourceError, isTransportFailure } from "./errors.js";
import { matchRef, notFound, type ListedRef, type MatchedRef } from "./refs.js";
import { peelToCommit } from "./repository.js";
import type { GitRefSpec } from "./validate.js";

/** Inputs of one fetch into the cache. */
export interface RemoteFetch {
  /** The cache's bare repository, whose `origin` is `url`. */
  gitdir: string;
  /** Credential-free URL. */
  url: string;
  spec: GitRefSpec;
  http: HttpClient;
  auth: AuthSession;
  /** isomorphic-git's object cache, shared with the checkout that follows. */
  objectCache: object;
  log: (line: string) => void;
}

/**
 * Git's own "infinite" depth (`git fetch --unshallow` sends it): asking for it turns a shallow repository
 * into a complete one.
 */
const FULL_HISTORY = 0x7fffffff;

/** Resolves `spec` on the server and makes sure its commit (and tree) is in `gitdir`. */
export async function fetchRef(options: RemoteFetch): Promise<string> {
  const { spec } = options;
  if (spec.kind === "commit") return fetchCommit(options, spec.oid);
  const match = matchRef(spec.name, await listRefs(options), options.url);
  const cached = await peelToCommit(options.gitdir, match.peeled ?? match.oid, options.objectCache);
  if (cached.kind === "commit") {
    options.log(`${options.url} ${match.fullref} is at ${cached.oid.slice(0, 12)}, already in the cache`);
    return cached.oid;
  }
  options.log(`fetching ${match.fullref} from ${options.url}`);
  const result = await git.fetch({
    ...common(options),
    remoteRef: match.fullref,
    // `ref` is what isomorphic-git offers the server as already present, so an updated branch only
    // transfers what changed since the last fetch of it.
    ref: match.kind === "branch" ? `refs/remotes/origin/${match.fullref.slice("refs/heads/".length)}` : match.fullref,
    singleBranch: true,
    depth: 1,
    tags: match.kind === "tag",
  });
  // The ref may have moved since it was listed: the fetched head is the newer truth.
  const head = result.fetchHead ?? match.oid;
  return fetchedCommit(options, head, spec.name, match);
}

async function fetchedCommit(options: RemoteFetch, oid: string, name: string, match: MatchedRef): Promise<string> {
  const peeled = await peelToCommit(options.gitdir, oid, options.objectCache);
  if (peeled.kind === "commit") return peeled.oid;
  if (peeled.kind === "not-commit") {
    throw new InvalidInputError(`--ref ${JSON.stringify(name)}: ${match.fullref} in ${options.url} points to a ${peeled.type}, not a commit`);
  }
  throw new GitSourceError(`fetching ${options.url} ref ${name}: the server did not send ${match.fullref} (${oid})`);
}

/**
 * A commit id. git serves any commit reachable from a ref when asked over HTTP (its stateless protocol
 * re-checks reachability on every request), and so do GitHub, GitLab and Gitea, so the direct shallow
 * fetch almost always works. A server that only hands out ref tips answers without the commit (or with
 * an error): then the shallow repository cannot reach it at any depth from what it has, so every branch
 * and tag is refetched with full history (deepening to Git's infinite depth), and the commit is looked
 * for there.
 */
async function fetchCommit(options: RemoteFetch, oid: string): Promise<string> {
  const cached = await peelToCommit(options.gitdir, oid, options.objectCache);
  if (cached.kind === "commit" && cached.oid === oid) {
    options.log(`commit ${oid.slice(0, 12)} of ${options.url} is already in the cache`);
    return oid;
  }
  if (cached.kind !== "missing") throw notACommit(oid, options.url, cached.kind === "commit" ? "tag" : cached.type);
  options.log(`fetching commit ${oid.slice(0, 12)} from ${options.url}`);
  try {
    await git.fetch({ ...common(options), remoteRef: oid, ref: oid, singleBranch: true, depth: 1, tags: false });
  } catch (error) {
    // Auth, network and limit failures would only repeat; anything else is the server refusing the want.
    if (isTransportFailure(error)) throw error;
  }
  if (await isCommit(options, oid)) return oid;

  options.log(`${options.url} does not serve commit ${oid.slice(0, 12)} directly; fetching its full history`);
  const refs = await listRefs(options);
  const first = refs.find((r) => r.ref !== "HEAD") ?? refs[0];
  if (first === undefined) throw notFound(oid, refs, options.url);
  await git.fetch({ ...common(options), remoteRef: first.ref, singleBranch: false, tags: true, depth: FULL_HISTORY });
  if (await isCommit(options, oid)) return oid;
  throw new InvalidInputError(`--ref ${oid}: commit not found in ${options.url} (it must be reachable from a branch or tag)`);
}

async function isCommit(options: RemoteFetch, oid: string): Promise<boolean> {
  const peeled = await peelToCommit(options.gitdir, oid, options.objectCache);
  if (peeled.kind === "commit" && peeled.oid === oid) return true;
  if (peeled.kind === "missing") return false;
  throw notACommit(oid, options.url, peeled.kind === "commit" ? "tag" : peeled.type);
}

function notACommit(oid: string, url: string, type: string): InvalidInputError {
  return new InvalidInputError(`--ref ${oid}: is a ${type} in ${url}, not a commit`);
}

/** `git ls-remote`: protocol v1 answers in one GET and includes peeled tags. */
async function listRefs(options: RemoteFetch): Promise<ListedRef[]> {
  return git.listServerRefs({
    http: options.http,
    url: options.url,
    onAuth: options.auth.onAuth,
    onAuthFailure: options.auth.onAuthFailure,
    protocolVersion: 1,
    peelTags: true,
    symrefs: true,
  });
}

function common(options: RemoteFetch) {
  return {
    fs,
    http: options.http,
    gitdir: options.gitdir,
    url: options.url,
    remote: "origin",
    onAuth: options.auth.onAuth,
    onAuthFailure: options.auth.onAuthFailure,
    cache: options.objectCache,
  };
}
