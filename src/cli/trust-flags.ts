/**
 * The operator's say on what a fleet repository may make bosun reach — flags with environment fallbacks,
 * shared by `validate`, `plan` and `apply` so all three judge a fleet alike: which environment variables
 * the spec may name, which chart repositories it may use (and whether internal addresses), whether
 * kustomizations may fetch remote resources, and whether credential plugins of kubeconfig files the spec
 * names may run. A flag wins over its variable; everything defaults to the safe side, so a pull-request
 * plan needs none of them. These come from whoever runs bosun — never from the fleet repository.
 * See docs/security.md.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { checkAllowedPrefixes } from "../spec/chart-repo-url.js";
import { ALLOW_EXEC_PLUGINS_VARIABLE, ALLOWED_ENV_VARIABLE, DEFAULT_ALLOWED_ENV, parseEnvPatterns } from "../spec/environment.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import { CHART_CREDENTIALS_FILE_VARIABLE, CHART_CREDENTIALS_VARIABLE, ChartCredentialsError, loadChartCredentials, NO_CHART_CREDENTIALS } from "../source/chart-credentials.js";

/** The variables read, by what they set. */
export const TRUST_ENV = {
  allowedSecretEnv: ALLOWED_ENV_VARIABLE,
  allowedChartRepos: "BOSUN_ALLOWED_CHART_REPOS",
  allowInternalChartRepos: "BOSUN_ALLOW_INTERNAL_CHART_REPOS",
  allowRemoteKustomize: "BOSUN_ALLOW_REMOTE_KUSTOMIZE",
  allowExecPlugins: ALLOW_EXEC_PLUGINS_VARIABLE,
} as const;

/** The trust flags as commander parses them. */
export interface TrustFlags {
  allowedSecretEnv?: string;
  allowedChartRepos?: string[];
  allowInternalChartRepos?: boolean;
  allowRemoteKustomize?: boolean;
  allowExecPlugins?: boolean;
  chartCredentials?: string;
}

/** What the operator allows. */
export interface TrustSelection {
  /** What the fleet's spec may reference (checked by `loadFleet`, and again before every render). */
  policy: RepoPolicy;
  /** Credential plugins of kubeconfig files the spec names may run. */
  allowExecPlugins: boolean;
}

/** Adds the trust flags; `--allow-exec-plugins` only for commands that connect to clusters (`plugins`). */
export function withTrustFlags(command: Command, options: { plugins: boolean }): Command {
  command
    .option(
      "--allowed-secret-env <patterns>",
      `environment variables the spec may name, comma-separated patterns with * (default ${DEFAULT_ALLOWED_ENV.join(",")}; also ${TRUST_ENV.allowedSecretEnv})`,
    )
    .option(
      "--allowed-chart-repos <prefixes>",
      `Helm chart repositories the fleet may use: comma-separated URL prefixes (repeatable; also ${TRUST_ENV.allowedChartRepos}); default any public host`,
      (value: string, all: string[] | undefined) => [...(all ?? []), ...splitList(value)],
    )
    .option("--allow-internal-chart-repos", `allow chart repositories on loopback, private and link-local addresses (also ${TRUST_ENV.allowInternalChartRepos}=true)`)
    .option("--allow-remote-kustomize", `allow kustomizations to use remote https:// resources (also ${TRUST_ENV.allowRemoteKustomize}=true)`)
    .option(
      "--chart-credentials <file>",
      `chart repository credentials and CAs by URL prefix (also ${CHART_CREDENTIALS_FILE_VARIABLE}, or the YAML itself in ${CHART_CREDENTIALS_VARIABLE}); see docs/chart-repositories.md`,
    );
  if (options.plugins) {
    command.option(
      "--allow-exec-plugins",
      `run exec and auth-provider plugins of kubeconfig files the spec names (also ${TRUST_ENV.allowExecPlugins}=true); keep off for pull-request plans`,
    );
  }
  return command;
}

/** Checks the trust flags against their environment fallbacks; a bad value is a usage error naming the flag or variable. */
export function trustSelection(flags: TrustFlags, env: NodeJS.ProcessEnv): TrustSelection {
  const reposFromFlag = flags.allowedChartRepos !== undefined;
  const allowedChartRepos = reposFromFlag ? (flags.allowedChartRepos ?? []) : splitList(env[TRUST_ENV.allowedChartRepos] ?? "");
  const problem = checkAllowedPrefixes(allowedChartRepos);
  if (problem !== undefined) throw new UsageError(`${reposFromFlag ? "--allowed-chart-repos" : TRUST_ENV.allowedChartRepos}: ${problem}`);
  return {
    policy: {
      allowedSecretEnv: allowedSecretEnv(flags, env),
      allowedChartRepos,
      allowInternalChartRepos: flags.allowInternalChartRepos ?? envSwitch(env, TRUST_ENV.allowInternalChartRepos),
      allowRemoteKustomize: flags.allowRemoteKustomize ?? envSwitch(env, TRUST_ENV.allowRemoteKustomize),
      ...chartCredentials(flags, env),
    },
    allowExecPlugins: flags.allowExecPlugins === true || envSwitch(env, TRUST_ENV.allowExecPlugins),
  };
}

function chartCredentials(flags: TrustFlags, env: NodeJS.ProcessEnv): Pick<RepoPolicy, "chartCredentials"> {
  try {
    const list = loadChartCredentials(flags.chartCredentials, env);
    return list === NO_CHART_CREDENTIALS ? {} : { chartCredentials: list };
  } catch (error) {
    if (error instanceof ChartCredentialsError) throw new UsageError(error.message);
    throw error;
  }
}

function allowedSecretEnv(flags: TrustFlags, env: NodeJS.ProcessEnv): string[] {
  const fromFlag = flags.allowedSecretEnv;
  const fromEnv = env[TRUST_ENV.allowedSecretEnv];
  if (fromFlag === undefined && (fromEnv === undefined || fromEnv === "")) return [...DEFAULT_ALLOWED_ENV];
  const parsed = fromFlag !== undefined ? parseEnvPatterns(fromFlag, "--allowed-secret-env") : parseEnvPatterns(fromEnv ?? "", TRUST_ENV.allowedSecretEnv);
  if ("problem" in parsed) throw new UsageError(parsed.problem);
  return parsed.patterns;
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
