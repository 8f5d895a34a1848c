/**
 * The operator's say on what a fleet's spec may reach on this machine, as flags with environment
 * fallbacks: which environment variables the spec may name (`--allowed-secret-env`,
 * BOSUN_ALLOWED_SECRET_ENV) and whether credential plugins of kubeconfig files the spec names may run
 * (`--allow-exec-plugins`, BOSUN_ALLOW_EXEC_PLUGINS). Both default to the safe side, so a pull-request plan
 * needs neither. See docs/security.md.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { ALLOW_EXEC_PLUGINS_VARIABLE, ALLOWED_ENV_VARIABLE, DEFAULT_ALLOWED_ENV, parseEnvPatterns } from "../spec/environment.js";

/** The trust flags as commander parses them. */
export interface TrustFlags {
  allowedSecretEnv?: string;
  allowExecPlugins?: boolean;
}

/** What the operator allows. */
export interface TrustSelection {
  /** Patterns of variables the spec may name. */
  allowedEnv: string[];
  /** Credential plugins of kubeconfig files the spec names may run. */
  allowExecPlugins: boolean;
}

/** Adds `--allowed-secret-env` and, for commands that connect to clusters (`plugins`), `--allow-exec-plugins`. */
export function withTrustFlags(command: Command, options: { plugins: boolean }): Command {
  command.option(
    "--allowed-secret-env <patterns>",
    `environment variables the spec may name, comma-separated patterns with * (default ${DEFAULT_ALLOWED_ENV.join(",")}; also ${ALLOWED_ENV_VARIABLE})`,
  );
  if (options.plugins) {
    command.option(
      "--allow-exec-plugins",
      `run exec and auth-provider plugins of kubeconfig files the spec names (also ${ALLOW_EXEC_PLUGINS_VARIABLE}=true); keep off for pull-request plans`,
    );
  }
  return command;
}

/** Checks the trust flags against their environment fallbacks; a usage error names the flag or variable. */
export function trustSelection(flags: TrustFlags, env: NodeJS.ProcessEnv): TrustSelection {
  const fromFlag = flags.allowedSecretEnv;
  const fromEnv = env[ALLOWED_ENV_VARIABLE];
  let allowedEnv = [...DEFAULT_ALLOWED_ENV];
  if (fromFlag !== undefined || (fromEnv !== undefined && fromEnv !== "")) {
    const parsed = fromFlag !== undefined ? parseEnvPatterns(fromFlag, "--allowed-secret-env") : parseEnvPatterns(fromEnv ?? "", ALLOWED_ENV_VARIABLE);
    if ("problem" in parsed) throw new UsageError(parsed.problem);
    allowedEnv = parsed.patterns;
  }
  return { allowedEnv, allowExecPlugins: flags.allowExecPlugins === true || envSwitch(env[ALLOW_EXEC_PLUGINS_VARIABLE]) };
}

function envSwitch(value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "0" || value.toLowerCase() === "false") return false;
  if (value === "1" || value.toLowerCase() === "true") return true;
  throw new UsageError(`${ALLOW_EXEC_PLUGINS_VARIABLE}=${JSON.stringify(value)}: expected true or false`);
}
