/**
 * The operator's flags and environment variables for what a fleet repository may make bosun reach
 * (`RepoPolicy`), shared by `validate`, `plan` and `apply` so all three judge a fleet alike. A flag wins
 * over its variable. These come from whoever runs bosun — never from the fleet repository.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { checkAllowedPrefixes } from "../spec/chart-repo-url.js";
import type { RepoPolicy } from "../spec/repo-policy.js";

/** The variables read, by what they set. */
export const REPO_POLICY_ENV = {
  allowedChartRepos: "BOSUN_ALLOWED_CHART_REPOS",
  allowInternalChartRepos: "BOSUN_ALLOW_INTERNAL_CHART_REPOS",
  allowRemoteKustomize: "BOSUN_ALLOW_REMOTE_KUSTOMIZE",
} as const;

/** The policy flags as commander parses them. */
export interface RepoPolicyFlags {
  allowedChartRepos?: string[];
  allowInternalChartRepos?: boolean;
  allowRemoteKustomize?: boolean;
}

/** Adds the policy flags to `command`. */
export function withRepoPolicyFlags(command: Command): Command {
  return command
    .option(
      "--allowed-chart-repos <prefixes>",
      `Helm chart repositories the fleet may use: comma-separated URL prefixes (repeatable; also ${REPO_POLICY_ENV.allowedChartRepos}); default any public host`,
      (value: string, all: string[] | undefined) => [...(all ?? []), ...splitList(value)],
    )
    .option("--allow-internal-chart-repos", `allow chart repositories on loopback, private and link-local addresses (also ${REPO_POLICY_ENV.allowInternalChartRepos}=true)`)
    .option("--allow-remote-kustomize", `allow kustomizations to use remote https:// resources (also ${REPO_POLICY_ENV.allowRemoteKustomize}=true)`);
}

/** The checked policy from the flags, else the environment, else the defaults. A bad value is a usage error naming its flag or variable. */
export function repoPolicy(flags: RepoPolicyFlags, env: NodeJS.ProcessEnv): RepoPolicy {
  const fromFlag = flags.allowedChartRepos !== undefined;
  const allowedChartRepos = fromFlag ? (flags.allowedChartRepos ?? []) : splitList(env[REPO_POLICY_ENV.allowedChartRepos] ?? "");
  const problem = checkAllowedPrefixes(allowedChartRepos);
  if (problem !== undefined) throw new UsageError(`${fromFlag ? "--allowed-chart-repos" : REPO_POLICY_ENV.allowedChartRepos}: ${problem}`);
  return {
    allowedChartRepos,
    allowInternalChartRepos: flags.allowInternalChartRepos ?? envSwitch(env, REPO_POLICY_ENV.allowInternalChartRepos),
    allowRemoteKustomize: flags.allowRemoteKustomize ?? envSwitch(env, REPO_POLICY_ENV.allowRemoteKustomize),
  };
}

function splitList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function envSwitch(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = (env[name] ?? "").trim().toLowerCase();
  if (value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw new UsageError(`${name}: expected true or false, not ${JSON.stringify(env[name])}`);
}
