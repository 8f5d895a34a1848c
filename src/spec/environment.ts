/**
 * What a spec may name on the machine running bosun. Whoever can open a pull request writes the spec, and
 * bosun plans every pull request with the machine's environment (Git token, cloud credentials) at hand, so:
 *
 * - an environment variable named by the spec (`connection.kubeconfig.env`, `helm.secretValues[].env`,
 *   `alerting.webhooks[].urlFromEnv`, `alerting.receivers[].urlFromEnv` and `.secretFromEnv`) must match one of the operator's patterns (`BOSUN_SECRET_*` unless
 *   the operator sets others), and bosun's own Git credentials never match;
 * - a kubeconfig path (`connection.kubeconfig.path`) must be absolute (or `~/…`): a relative one would be
 *   resolved against the working directory, which is usually the repository itself.
 *
 * No I/O: the patterns come in as data; the CLI reads them from `--allowed-secret-env` or
 * `BOSUN_ALLOWED_SECRET_ENV`. Where kubeconfig files may lie and whether their plugins run is decided when
 * connecting (`src/kube/connect.ts`), because it needs the file system.
 */
import path from "node:path";
import type { Addon, ClusterSpec, FleetSpec } from "./generated.js";
import type { SourcePosition } from "./issues.js";
import type { RuleContext } from "./rules.js";
import type { Segment } from "./yaml.js";

/** Patterns of variables a spec may name when the operator sets none. */
export const DEFAULT_ALLOWED_ENV: readonly string[] = ["BOSUN_SECRET_*"];

/** The variable holding the operator's patterns (comma-separated), overridden by `--allowed-secret-env`. */
export const ALLOWED_ENV_VARIABLE = "BOSUN_ALLOWED_SECRET_ENV";

/** The variable that lets credential plugins of kubeconfig files the spec names run (`--allow-exec-plugins`). */
export const ALLOW_EXEC_PLUGINS_VARIABLE = "BOSUN_ALLOW_EXEC_PLUGINS";

/**
 * bosun's own credentials and settings (`BOSUN_GIT_TOKEN`, `BOSUN_ALLOWED_CHART_REPOS`, …): every `BOSUN_`
 * variable outside `BOSUN_SECRET_` is never readable by name from a spec, whatever the patterns say, so a
 * widened list (`BOSUN_*`) cannot hand the Git token or the operator's switches to a pull request.
 */
export function isBosunSetting(name: string): boolean {
  return name.startsWith("BOSUN_") && !name.startsWith("BOSUN_SECRET_");
}

const PATTERN = /^[A-Za-z0-9_*]+$/;

/**
 * Parses a comma-separated list of patterns (`BOSUN_SECRET_*,CI_KUBECONFIG_*`): letters, digits, `_` and
 * `*` (any run of characters). An empty list allows no variable at all. `source` names the flag or
 * variable in the problem.
 */
export function parseEnvPatterns(text: string, source: string): { patterns: string[] } | { problem: string } {
  const patterns = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const bad = patterns.find((p) => !PATTERN.test(p));
  if (bad !== undefined) return { problem: `${source}: ${JSON.stringify(bad)} is not a variable-name pattern (letters, digits, _ and * only)` };
  return { patterns };
}

/** Whether a spec may name the variable `name` under `patterns`. */
export function envNameAllowed(name: string, patterns: readonly string[]): boolean {
  if (isBosunSetting(name)) return false;
  return patterns.some((pattern) => new RegExp(`^${pattern.replaceAll("*", ".*")}$`).test(name));
}

/**
 * Checks every variable and kubeconfig path one written cluster spec (a Cluster's, or the Fleet's
 * defaults) names; records an error at the field for each one refused. `fleetRoot` is the fleet
 * directory's real path: a kubeconfig path spelt into it is refused here already (symlinks, the Git work
 * tree and bosun's cache are checked when connecting, by real path).
 */
export function checkEnvironmentNames(spec: ClusterSpec, fallback: SourcePosition, ctx: RuleContext, patterns: readonly string[], fleetRoot: string): void {
  const kubeconfig = spec.connection?.kubeconfig;
  if (kubeconfig?.env !== undefined) checkName(kubeconfig.env, spec, ["connection", "kubeconfig", "env"], fallback, ctx, patterns);
  const written = kubeconfig?.path;
  if (written !== undefined && !written.startsWith("/") && !written.startsWith("~/")) {
    ctx.issues.error(
      where(ctx, spec, ["connection", "kubeconfig", "path"], fallback),
      `kubeconfig path ${JSON.stringify(written)} must be absolute (or start with ~/): a relative path would be read from the working directory, often this repository, and a kubeconfig must never come from the repository`,
    );
  } else if (written !== undefined && written.startsWith("/") && isInside(path.resolve(written), fleetRoot)) {
    ctx.issues.error(
      where(ctx, spec, ["connection", "kubeconfig", "path"], fallback),
      `kubeconfig path ${JSON.stringify(written)} lies inside the fleet repository: a kubeconfig must come from the machine running bosun, never from the repository`,
    );
  }
  (spec.addons ?? []).forEach((addon: Addon, i) => {
    (addon.helm?.secretValues ?? []).forEach((secret, j) => {
      checkName(secret.env, spec, ["addons", i, "helm", "secretValues", j, "env"], fallback, ctx, patterns);
    });
  });
}

/** Checks the alert receivers' URL and signing-key variables of the Fleet document. */
export function checkFleetEnvironmentNames(spec: FleetSpec, fallback: SourcePosition, ctx: RuleContext, patterns: readonly string[]): void {
  (spec.alerting?.webhooks ?? []).forEach((webhook, i) => {
    checkName(webhook.urlFromEnv, spec, ["alerting", "webhooks", i, "urlFromEnv"], fallback, ctx, patterns);
  });
  (spec.alerting?.receivers ?? []).forEach((receiver, i) => {
    checkName(receiver.urlFromEnv, spec, ["alerting", "receivers", i, "urlFromEnv"], fallback, ctx, patterns);
    if (receiver.secretFromEnv !== undefined) checkName(receiver.secretFromEnv, spec, ["alerting", "receivers", i, "secretFromEnv"], fallback, ctx, patterns);
  });
}

function checkName(name: string, root: object, path: readonly Segment[], fallback: SourcePosition, ctx: RuleContext, patterns: readonly string[]): void {
  if (envNameAllowed(name, patterns)) return;
  const why = isBosunSetting(name)
    ? `${name} is one of bosun's own credentials or settings, which a spec can never read`
    : patterns.length === 0
      ? "the operator allows no variable to be named in the spec"
      : `a spec may name only variables matching ${patterns.join(", ")}`;
  ctx.issues.error(
    where(ctx, root, path, fallback),
    `environment variable ${name} is not allowed: ${why} (the operator sets the patterns with --allowed-secret-env or ${ALLOWED_ENV_VARIABLE})`,
  );
}

function isInside(file: string, dir: string): boolean {
  return file === dir || file.startsWith(`${dir}${path.sep}`);
}

function where(ctx: RuleContext, root: object, path: readonly Segment[], fallback: SourcePosition): SourcePosition {
  return ctx.sources.locate(root, path) ?? fallback;
}
