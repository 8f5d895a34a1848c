/**
 * The Git source: `openFleetSource` turns `--fleet DIR` or `--repo URL --ref REF` into a directory to load
 * the fleet from, the `PlanSource` and the revision a plan records. See docs/git-source.md.
 */
export {
  DEFAULT_GIT_TIMEOUT_MS,
  DEFAULT_MAX_TRANSFER_BYTES,
  openFleetSource,
  type FleetSourceInput,
  type FleetSourceSettings,
  type OpenFleetSourceOptions,
  type OpenedFleetSource,
} from "./fleet-source.js";
/** Where the Git cache lives by default. */
export { defaultGitCacheDir } from "./cache.js";
/** Credentials from BOSUN_GIT_TOKEN or BOSUN_GIT_USERNAME/BOSUN_GIT_PASSWORD. */
export { credentialsFromEnv, TOKEN_USERNAME, type GitCredentials } from "./credentials.js";
/** The error (reason `GitFailed`) for network, auth and repository-content failures. */
export { GitSourceError } from "./errors.js";
/** The HEAD commit of the work tree containing a directory, and that work tree's top directory. */
export { workTreeRevision, workTreeRoot } from "./revision.js";
/** Checks of `--repo` and `--ref`, for callers that want to fail before doing anything else. */
export { parseRef, parseRepoLocation, refProblem, type GitRefSpec, type RepoLocation } from "./validate.js";
