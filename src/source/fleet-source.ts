/**
 * The source phase of the pipeline: turns `--fleet DIR` or `--repo URL --ref REF` into a directory to
 * load the fleet from and the revision the plan records. A remote repository is fetched with
 * isomorphic-git into the Git cache (outside any repository) and its commit checked out into a
 * directory of its own, so two plans of different refs never share files and a repeated plan of the same
 * commit reuses both the objects and the checkout.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { BosunError, InvalidInputError, asError } from "../errors.js";
import type { PlanSource } from "../plan/types.js";
import { defaultGitCacheDir, ensureBareRepository, pruneWorktrees, sourceCache, withCacheLock, type SourceCache } from "./cache.js";
import { checkoutCommit } from "./checkout.js";
import { authSession, credentialsFromEnv, secretForms } from "./credentials.js";
import { GitSourceError, gitFailure } from "./errors.js";
import { boundedHttp } from "./http.js";
import { resolveLocalRef } from "./local-repo.js";
import { fetchRef } from "./remote.js";
import { repositoryAt } from "./repository.js";
import { workTreeRevision } from "./revision.js";
import { parseRef, parseRepoLocation, type GitRefSpec } from "./validate.js";

/** Default deadline for the network part of opening a remote source. */
export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60_000;

/** Default cap on bytes received from a Git server while opening one source. */
export const DEFAULT_MAX_TRANSFER_BYTES = 512 * 2 ** 20;

/** Where the fleet comes from: the CLI's `--fleet`, or `--repo` with `--ref`. */
export type FleetSourceInput =
  /** A fleet directory; the current directory when omitted. */
  | { fleet?: string; repo?: undefined; ref?: undefined }
  /** An `https://`/`http://` URL or the path of a local repository, and a branch, tag or full commit id. */
  | { repo: string; ref: string; fleet?: undefined };

/** How to open a source; every field has a default. */
export interface FleetSourceSettings {
  /** Git cache directory; default `<bosun cache>/git` (see src/paths.ts). */
  cacheDir?: string;
  /** Environment holding BOSUN_GIT_TOKEN or BOSUN_GIT_USERNAME/BOSUN_GIT_PASSWORD; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Deadline for all network requests of one open, in milliseconds; default 5 minutes. */
  timeoutMs?: number;
  /** Cap on bytes received from the server; default 512 MiB. */
  maxTransferBytes?: number;
  /** Directory relative paths are resolved against; default process.cwd(). */
  cwd?: string;
  /** Progress lines for people; never contain credentials. */
  log?: (line: string) => void;
}

/** Options of `openFleetSource`. */
export type OpenFleetSourceOptions = FleetSourceInput & FleetSourceSettings;

/** An opened fleet source. */
export interface OpenedFleetSource {
  /** Directory to load the fleet from. For Git, a checkout in the cache: read it, never write to it. */
  dir: string;
  source: PlanSource;
  /** The commit the files come from, or null for a local directory outside any Git work tree. */
  revision: string | null;
}

/**
 * Opens the fleet source named by `options`. Throws `InvalidInputError` (naming `--fleet`, `--repo` or
 * `--ref`) for input that can never work, and `GitSourceError` (reason `GitFailed`, `retryable` for
 * network failures) when talking to the Git server fails. No message, log line or cached file carries the
 * credentials.
 */
export async function openFleetSource(options: OpenFleetSourceOptions): Promise<OpenedFleetSource> {
  const cwd = options.cwd ?? process.cwd();
  if (options.repo === undefined) return openDirectory(options.fleet ?? ".", cwd);
  const location = parseRepoLocation(options.repo, cwd);
  const spec = parseRef(options.ref);
  const settings: ResolvedSettings = {
    cacheDir: options.cacheDir ?? defaultGitCacheDir(),
    env: options.env ?? process.env,
    timeoutMs: options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS,
    maxTransferBytes: options.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES,
    log: options.log ?? (() => undefined),
  };
  return location.kind === "url"
    ? openRemote(location.url, options.ref, spec, settings)
    : openLocalRepository(location.path, options.repo, options.ref, spec, settings);
}

interface ResolvedSettings {
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxTransferBytes: number;
  log: (line: string) => void;
}

async function openDirectory(given: string, cwd: string): Promise<OpenedFleetSource> {
  const dir = path.resolve(cwd, given);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (stat === undefined) throw new InvalidInputError(`--fleet ${JSON.stringify(given)}: no such directory`);
  if (!stat.isDirectory()) throw new InvalidInputError(`--fleet ${JSON.stringify(given)}: not a directory`);
  const revision = await onDisk(`reading the Git revision of ${dir}`, () => workTreeRevision(dir));
  return { dir, source: { kind: "local", path: dir }, revision };
}

async function openRemote(url: string, ref: string, spec: GitRefSpec, settings: ResolvedSettings): Promise<OpenedFleetSource> {
  // Read (and check) the credentials before anything else, so a misconfiguration fails without I/O.
  const credentials = credentialsFromEnv(settings.env);
  const cache = sourceCache(settings.cacheDir, `url:${url}`);
  const commit = await locked(cache, url, settings, async () => {
    await onDisk(`preparing the Git cache ${cache.root}`, () => ensureBareRepository(cache, url));
    const auth = authSession(credentials);
    const transfer = boundedHttp({ timeoutMs: settings.timeoutMs, maxBytes: settings.maxTransferBytes });
    const objectCache = {};
    const failed = (error: unknown): GitSourceError =>
      gitFailure(error, { action: `fetching ${url} ref ${ref}`, host: new URL(url).host, auth: auth.outcome, secrets: secretForms(credentials) });
    let commit: string;
    try {
      commit = await fetchRef({ gitdir: cache.gitdir, url, spec, http: transfer.http, auth, objectCache, log: settings.log });
    } catch (error) {
      // A cut-off response can surface as anything (even "ref not found"): the cut is the real failure.
      const cut = transfer.failure();
      if (cut !== undefined) throw failed(cut);
      if (error instanceof BosunError) throw error;
      throw failed(error);
    } finally {
      transfer.close();
    }
    const cut = transfer.failure();
    if (cut !== undefined) throw failed(cut);
    await checkout(cache, cache.gitdir, commit, `commit ${commit.slice(0, 12)} of ${url}`, objectCache);
    return commit;
  });
  return { dir: path.join(cache.worktrees, commit), source: { kind: "git", url, ref, commit }, revision: commit };
}

async function openLocalRepository(
  repoPath: string,
  given: string,
  ref: string,
  spec: GitRefSpec,
  settings: ResolvedSettings,
): Promise<OpenedFleetSource> {
  const stat = await fs.stat(repoPath).catch(() => undefined);
  if (stat === undefined) throw new InvalidInputError(`--repo ${JSON.stringify(given)}: no such directory`);
  const repo = stat.isDirectory() ? await repositoryAt(repoPath) : undefined;
  if (repo === undefined) {
    throw new InvalidInputError(`--repo ${JSON.stringify(given)}: not a Git repository (give the top directory of a work tree, or a bare repository)`);
  }
  // The real path, so two spellings of one repository share a cache entry.
  const real = await fs.realpath(repoPath);
  const cache = sourceCache(settings.cacheDir, `path:${real}`);
  const commit = await locked(cache, real, settings, async () => {
    const objectCache = {};
    const resolved = await onDisk(`reading ${real}`, () => resolveLocalRef(repo, spec, real, objectCache));
    await checkout(cache, repo.gitdir, resolved, `commit ${resolved.slice(0, 12)} of ${real}`, objectCache);
    return resolved;
  });
  return { dir: path.join(cache.worktrees, commit), source: { kind: "git", url: real, ref, commit }, revision: commit };
}

/** Runs `work` under the cache lock, telling the user when another bosun process holds it. */
async function locked<T>(cache: SourceCache, name: string, settings: ResolvedSettings, work: () => Promise<T>): Promise<T> {
  const onWait = (holder: number | undefined): void => {
    settings.log(`waiting for ${holder === undefined ? "another bosun process" : `bosun process ${holder}`} using the Git cache of ${name}`);
  };
  return onDisk(`locking the Git cache ${cache.root}`, () => withCacheLock(cache, name, onWait, work));
}

async function checkout(cache: SourceCache, gitdir: string, commit: string, describe: string, objectCache: object): Promise<void> {
  const done = await onDisk(`checking out ${describe} into ${cache.worktrees}`, () =>
    checkoutCommit({ gitdir, commit, worktrees: cache.worktrees, describe, objectCache }),
  );
  await onDisk(`pruning ${cache.worktrees}`, () => pruneWorktrees(cache, done.dir, Date.now()));
}

/**
 * Runs a step on the local disk (cache, repository), turning an unexpected failure (a full disk, a
 * permission) into a `GitSourceError` that says which step failed, instead of an "internal error".
 */
async function onDisk<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BosunError) throw error;
    throw new GitSourceError(`${what}: ${asError(error).message}`, { cause: error });
  }
}
