/**
 * What the operator allows a fleet repository to make bosun reach. The fleet repository is written by
 * anyone who can open a pull request, so these switches never come from it: the CLI reads them from its
 * flags and environment, and the daemon from its own configuration (never from the branch it plans).
 * Everything is off by default.
 */

import type { ChartCredentialsList } from "../source/chart-credentials.js";
import { DEFAULT_ALLOWED_ENV } from "./environment.js";

/** The operator's allowances for what a fleet repository may reference. */
export interface RepoPolicy {
  /**
   * Patterns (`*` for any run of characters) of the environment variables the spec may name in
   * `kubeconfig.env`, `secretValues[].env` and `urlFromEnv`; bosun's own `BOSUN_` settings never match.
   */
  allowedSecretEnv: readonly string[];
  /**
   * URL prefixes a Helm chart repository must start with (scheme, host and port equal, path at a segment
   * boundary). Empty: any repository on a public host.
   */
  allowedChartRepos: readonly string[];
  /** Chart repositories on loopback, private, link-local and other internal addresses. */
  allowInternalChartRepos: boolean;
  /** Kustomize resources fetched from remote Git repositories or URLs (`https://…`, `github.com/…`). */
  allowRemoteKustomize: boolean;
  /**
   * The fleet's own `spec.chartRepositories` (URL prefixes), when it sets them: a chart must lie under one
   * of these as well. Set by `loadFleet` from the Fleet document — for a pull request, the base branch's.
   */
  fleetChartRepos?: readonly string[];
  /**
   * The operator's chart repository credentials and CAs (`--chart-credentials`), by URL prefix: used when
   * bosun fetches a chart, never part of a plan or a render's key.
   */
  chartCredentials?: ChartCredentialsList;
}

/** The default: `BOSUN_SECRET_*`, any public chart repository, nothing internal, nothing remote in kustomizations. */
export const DEFAULT_REPO_POLICY: Readonly<RepoPolicy> = {
  allowedSecretEnv: DEFAULT_ALLOWED_ENV,
  allowedChartRepos: [],
  allowInternalChartRepos: false,
  allowRemoteKustomize: false,
};
