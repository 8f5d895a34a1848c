/**
 * Typed wrapper around the `helm` binary (Helm 4 and Helm 3). Every call passes an argument array with `--`
 * before positionals where helm allows it, an explicit timeout, the cluster's kubeconfig and context, and
 * values through a temp file — never on the command line, where they would show in process listings.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import semver from "semver";
import { BosunError } from "../errors.js";
import { binCacheDir } from "../paths.js";
import { isExecutable } from "./executable.js";
import { PLAN_APPLY_TOOLS, type ToolName } from "./names.js";
import { runProcess, type RunResult } from "./process.js";

const HELM_HINT = "install it, set BOSUN_HELM, or build it with `bosun sandbox binaries --for plan`";

/** Which cluster a helm command talks to. */
export interface HelmTarget {
  kubeconfig: string;
  context: string;
}

/** Options shared by every helm call. */
export interface HelmOptions {
  /** The helm executable; defaults to {@link resolveTool}'s lookup (BOSUN_HELM, PATH, bosun's binary cache). */
  helm?: string;
  timeoutMs?: number;
  /** Stops the program when it aborts (see `RunOptions.signal`). */
  signal?: AbortSignal;
  /**
   * A private helm home (an empty directory of this user's only): helm's configuration, cache, data,
   * plugins, repository list and registry logins all live under it, so that nothing is read from or
   * written to the user's own helm or Docker configuration (`writeHelmHomeLogins` fills it).
   */
  home?: string;
}

/**
 * helm's environment for a private home: every location helm reads or writes, including the ones a
 * user's environment may override — and Docker's configuration, which helm's registry client falls back
 * to for credentials (`~/.docker/config.json`, credential helpers), so that a user's own registry logins
 * never reach a registry the fleet names.
 */
function helmHomeEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    DOCKER_CONFIG: path.join(home, "docker"),
    HELM_CONFIG_HOME: path.join(home, "config"),
    HELM_CACHE_HOME: path.join(home, "cache"),
    HELM_DATA_HOME: path.join(home, "data"),
    HELM_PLUGINS: path.join(home, "data", "plugins"),
    HELM_CONTENT_CACHE: path.join(home, "cache", "content"),
    HELM_REGISTRY_CONFIG: path.join(home, "config", "registry", "config.json"),
    HELM_REPOSITORY_CONFIG: path.join(home, "config", "repositories.yaml"),
    HELM_REPOSITORY_CACHE: path.join(home, "cache", "repository"),
    HELM_DEBUG: "false",
  };
}

/**
 * An auth entry that is never used. A registry configuration without any entry makes helm's registry
 * client pick the desktop's native credential store (keychain, secret service, `pass`) when a helper for
 * it is on PATH — for reading and for storing a login — so both files always have one.
 */
const PLACEHOLDER_REGISTRY = "placeholder.bosun.invalid";

/**
 * Writes the registry logins of a private helm home (`logins`: registry host → username and password)
 * the way `helm registry login` stores them, plus an empty Docker configuration; files readable by this
 * user only. No helm process, no password on any command line or pipe.
 */
export async function writeHelmHomeLogins(home: string, logins: ReadonlyMap<string, { username: string; password: string }>): Promise<void> {
  const env = helmHomeEnv(home);
  const auths: Record<string, { auth?: string }> = { [PLACEHOLDER_REGISTRY]: {} };
  for (const [host, login] of logins) auths[host] = { auth: Buffer.from(`${login.username}:${login.password}`).toString("base64") };
  const registryConfig = env.HELM_REGISTRY_CONFIG ?? "";
  const dockerConfig = env.DOCKER_CONFIG ?? "";
  await fs.mkdir(path.dirname(registryConfig), { recursive: true, mode: 0o700 });
  await fs.mkdir(dockerConfig, { recursive: true, mode: 0o700 });
  await fs.writeFile(registryConfig, JSON.stringify({ auths }), { mode: 0o600 });
  await fs.writeFile(path.join(dockerConfig, "config.json"), JSON.stringify({ auths: { [PLACEHOLDER_REGISTRY]: {} } }), { mode: 0o600 });
}

const resolved = new Map<string, Promise<string>>();

/**
 * Finds an external program the way every wrapper does: `explicit` (a caller's option), else the
 * environment variable `envVar` (BOSUN_HELM, BOSUN_KUSTOMIZE…), else `BOSUN_BIN_DIR/<name>`, else `name` on
 * PATH, else the newest `<name>-v<version>` in bosun's binary cache (where `bosun sandbox` builds helm and
 * kustomize), else `name` itself — so that running it reports the program as not found, with the hint.
 * The lookup is done once per process.
 */
export async function resolveTool(name: ToolName, explicit?: string): Promise<string> {
  return findProgram(name, PLAN_APPLY_TOOLS[name], explicit);
}

/**
 * The same lookup for a program that plan and apply never run (the benchmarks' kubectl); bosun's own
 * commands use {@link resolveTool}, whose names are the list the binary catalogue builds.
 */
export async function findProgram(name: string, envVar: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const key = `${name}\0${process.env.BOSUN_BIN_DIR ?? ""}\0${process.env.PATH ?? ""}\0${binCacheDir()}`;
  let pending = resolved.get(key);
  if (!pending) {
    pending = lookUp(name);
    resolved.set(key, pending);
  }
  return pending;
}

async function lookUp(name: string): Promise<string> {
  const binDir = process.env.BOSUN_BIN_DIR;
  if (binDir && (await isExecutable(path.join(path.resolve(binDir), name)))) return path.join(path.resolve(binDir), name);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return name;
  }
  const cached = (await fs.readdir(binCacheDir()).catch(() => [] as string[]))
    .map((file) => ({ file, version: semver.valid(file.startsWith(`${name}-v`) ? file.slice(name.length + 2) : null) }))
    .filter((entry): entry is { file: string; version: string } => entry.version !== null)
    .sort((a, b) => semver.rcompare(a.version, b.version));
  for (const { file } of cached) {
    if (await isExecutable(path.join(binCacheDir(), file))) return path.join(binCacheDir(), file);
  }
  return name;
}

async function helm(args: string[], options: HelmOptions, timeoutMs = 120_000, maxBuffer?: number): Promise<RunResult> {
  return runProcess({
    tool: "helm",
    file: await resolveTool("helm", options.helm),
    args,
    ...(options.home === undefined ? {} : { env: helmHomeEnv(options.home) }),
    timeoutMs: options.timeoutMs ?? timeoutMs,
    ...(maxBuffer === undefined ? {} : { maxBuffer }),
    ...(options.signal ? { signal: options.signal } : {}),
    notFoundHint: HELM_HINT,
  });
}

function targetArgs(target: HelmTarget): string[] {
  return ["--kubeconfig", target.kubeconfig, "--kube-context", target.context];
}

/** `helm version --short`, e.g. `v4.3.1+g…`. */
export async function helmVersion(options: HelmOptions = {}): Promise<string> {
  return (await helm(["version", "--short"], options, 15_000)).stdout.trim();
}

/** What one helm binary can do, where Helm 3 and Helm 4 (or older Helm 3 releases) differ. */
export interface HelmFeatures {
  /** The version helm reported, e.g. `v4.3.1`. */
  version: string;
  major: number;
  minor: number;
  /** The flag that rolls a failed upgrade back (a failed install: uninstalls it): Helm 4 renamed `--atomic`. */
  rollbackOnFailureFlag: "--rollback-on-failure" | "--atomic";
  /** `--labels` on install/upgrade, stored on the release record (Helm 3.13+). */
  releaseLabels: boolean;
  /** `helm uninstall --ignore-not-found` (Helm 3.13+). */
  uninstallIgnoreNotFound: boolean;
  /**
   * `--force-conflicts`: Helm 4 applies server-side, so a field another manager changed by hand is a
   * conflict that fails the upgrade (and the rollback after it) unless forced. Helm 3 merges client-side
   * and has no such conflicts, nor the flag.
   */
  forceConflicts: boolean;
}

/**
 * The features of a helm version string as `helm version --short` prints it. Pure. A version that cannot be
 * read is taken as the oldest Helm 3 (every flag it picks exists in every Helm 3 and, deprecated, in Helm 4).
 */
export function helmFeaturesOf(version: string): HelmFeatures {
  const parsed = semver.coerce(version);
  const major = parsed?.major ?? 3;
  const minor = parsed?.major === undefined ? 0 : parsed.minor;
  const atLeast313 = major > 3 || (major === 3 && minor >= 13);
  return {
    version,
    major,
    minor,
    rollbackOnFailureFlag: major >= 4 ? "--rollback-on-failure" : "--atomic",
    releaseLabels: atLeast313,
    uninstallIgnoreNotFound: atLeast313,
    forceConflicts: major >= 4,
  };
}

const features = new Map<string, Promise<HelmFeatures>>();

/** The features of the helm bosun runs ({@link helmFeaturesOf}); `helm version` runs once per executable and process. */
export async function helmFeatures(options: HelmOptions = {}): Promise<HelmFeatures> {
  const file = await resolveTool("helm", options.helm);
  let pending = features.get(file);
  if (!pending) {
    pending = helmVersion({ helm: file }).then(helmFeaturesOf);
    // A failed probe (helm missing) is not remembered: the next call reports it again.
    void pending.catch(() => features.delete(file));
    features.set(file, pending);
  }
  return pending;
}

/** Packages a chart directory into `destination` and returns the `.tgz` path. */
export async function helmPackage(chartDir: string, destination: string, options: HelmOptions = {}): Promise<string> {
  const { stdout } = await helm(["package", "--destination", destination, "--", chartDir], options);
  const match = /saved it to: (.+\.tgz)/.exec(stdout);
  if (match?.[1]) return match[1].trim();
  const files = (await fs.readdir(destination)).filter((f) => f.endsWith(".tgz"));
  return path.join(destination, files.sort().at(-1) ?? "");
}

/** Writes `index.yaml` for the charts in `dir`, with download URLs under `url`. */
export async function helmRepoIndex(dir: string, url: string, options: HelmOptions = {}): Promise<void> {
  await helm(["repo", "index", "--url", url, "--", dir], options);
}

/** TLS files for a registry connection (paths; helm reads them). */
export interface HelmRegistryTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

function registryTlsArgs(tls: HelmRegistryTls): string[] {
  const args: string[] = [];
  if (tls.caFile !== undefined) args.push("--ca-file", tls.caFile);
  if (tls.certFile !== undefined && tls.keyFile !== undefined) args.push("--cert-file", tls.certFile, "--key-file", tls.keyFile);
  return args;
}

/**
 * `helm pull` of `oci://…/chart` at `version` into `destination`; returns the archive and the manifest
 * digest helm printed (when it did).
 */
export async function helmPull(ref: string, version: string, destination: string, tls: HelmRegistryTls, options: HelmOptions): Promise<{ file: string; manifestDigest?: string }> {
  const { stdout, stderr } = await helm(["pull", "--version", version, "--destination", destination, ...registryTlsArgs(tls), "--", ref], options, 120_000);
  const files = (await fs.readdir(destination)).filter((f) => f.endsWith(".tgz"));
  if (files.length !== 1 || files[0] === undefined) throw new BosunError(`helm pull left ${files.length} chart archives, not one, in ${destination}`, { reason: "ProcessFailed" });
  const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(`${stdout}\n${stderr}`)?.[1];
  return { file: path.join(destination, files[0]), ...(digest ? { manifestDigest: digest } : {}) };
}

/** `helm push` of a packaged chart to an OCI registry path (`oci://host/path`); the tests' registry uses it. */
export async function helmPush(archive: string, ociRepo: string, tls: HelmRegistryTls, options: HelmOptions): Promise<void> {
  await helm(["push", ...registryTlsArgs(tls), "--", archive, ociRepo], options, 120_000);
}

/** What `helm template` renders: the release it pretends to install and where its values are. */
export interface HelmTemplateRequest {
  release: string;
  namespace: string;
  /** A YAML or JSON file holding every user-supplied value (written by the caller, readable by it only). */
  valuesFile: string;
  /** The chart version; required with `repo`, ignored by helm for a local chart directory. */
  version?: string;
  /** A chart repository URL (`https://…` or `oci://…`); `chart` is then the chart's name in it. */
  repo?: string;
  /** `Capabilities.KubeVersion` for the render, e.g. `1.34.2` (helm's built-in default otherwise). */
  kubeVersion?: string;
  /** Extra `Capabilities.APIVersions` (`group/version`), e.g. what the target cluster serves. */
  apiVersions?: readonly string[];
  /**
   * Include hook manifests (default false). Hooks are not part of a release's objects — helm creates and
   * usually deletes them around an install — so diffing them against the live cluster would always show
   * them as new.
   */
  hooks?: boolean;
}

/** Largest rendered output accepted from `helm template`. */
const TEMPLATE_MAX_BUFFER = 64 * 1024 * 1024;

/**
 * `helm template` of one chart: the manifests `helm upgrade --install` would apply (CRDs included, tests
 * and hooks left out unless asked for), as multi-document YAML. Nothing is sent to a cluster; a repo
 * chart is downloaded into helm's cache.
 */
export async function helmTemplate(chart: string, request: HelmTemplateRequest, options: HelmOptions = {}): Promise<string> {
  const args = ["template", "--namespace", request.namespace, "--values", request.valuesFile, "--include-crds", "--skip-tests"];
  if (!request.hooks) args.push("--no-hooks");
  let ref = chart;
  // An OCI registry is not a chart repository: helm takes the chart's full oci:// reference instead of --repo.
  if (request.repo?.startsWith("oci://")) ref = `${request.repo.replace(/\/+$/, "")}/${chart}`;
  else if (request.repo) args.push("--repo", request.repo);
  if (request.version) args.push("--version", request.version);
  if (request.kubeVersion) args.push("--kube-version", request.kubeVersion);
  for (const apiVersion of request.apiVersions ?? []) args.push("--api-versions", apiVersion);
  args.push("--", request.release, ref);
  return (await helm(args, options, 120_000, TEMPLATE_MAX_BUFFER)).stdout;
}

/** What to install or upgrade. */
export interface HelmRelease {
  release: string;
  namespace: string;
  /** A local chart directory or archive, or a chart name when `repo` is set. */
  chart: string;
  repo?: string;
  version?: string;
  values?: Record<string, unknown>;
  /** Wait until the release's workloads are ready. */
  wait?: boolean;
  /** Helm's own timeout for waiting, e.g. `5m`. */
  helmTimeout?: string;
  createNamespace?: boolean;
  /**
   * Undo a failed upgrade — roll back to the last deployed revision — or uninstall a failed first install:
   * `--rollback-on-failure` on Helm 4, `--atomic` on Helm 3 (both wait).
   */
  rollbackOnFailure?: boolean;
  /** With `wait`, also wait until the release's Jobs completed (`--wait-for-jobs`). */
  waitForJobs?: boolean;
  /** Labels of the release record (`--labels`); left out by a helm that does not support them (before 3.13). */
  labels?: Record<string, string>;
  /** Take over fields another field manager changed (`--force-conflicts`, Helm 4 only; Helm 3 has no conflicts). */
  forceConflicts?: boolean;
}

/** `helm upgrade --install`, values passed through a temp file that is removed afterwards. */
export async function helmUpgradeInstall(target: HelmTarget, release: HelmRelease, options: HelmOptions = {}): Promise<void> {
  // Flags that differ between Helm 3 and Helm 4 need the version; plain calls do not pay for it.
  const needsFeatures = release.rollbackOnFailure === true || release.forceConflicts === true || release.labels !== undefined;
  const features = needsFeatures ? await helmFeatures(options) : undefined;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-helm-"));
  try {
    const valuesFile = path.join(dir, "values.json");
    // JSON is valid YAML; the file is readable by this user only.
    await fs.writeFile(valuesFile, JSON.stringify(release.values ?? {}), { mode: 0o600 });
    const args = ["upgrade", "--install", ...targetArgs(target), "--namespace", release.namespace, "--values", valuesFile];
    if (release.createNamespace) args.push("--create-namespace");
    let ref = release.chart;
    // As for `helm template`: an OCI registry takes the chart's full oci:// reference instead of --repo.
    if (release.repo?.startsWith("oci://")) ref = `${release.repo.replace(/\/+$/, "")}/${release.chart}`;
    else if (release.repo) args.push("--repo", release.repo);
    if (release.version) args.push("--version", release.version);
    if (release.wait) args.push("--wait");
    if (release.wait && release.waitForJobs) args.push("--wait-for-jobs");
    if (release.helmTimeout) args.push("--timeout", release.helmTimeout);
    if (features && release.rollbackOnFailure) args.push(features.rollbackOnFailureFlag);
    if (features?.forceConflicts && release.forceConflicts) args.push("--force-conflicts");
    const labels = Object.entries(release.labels ?? {});
    if (features?.releaseLabels && labels.length > 0) args.push("--labels", labels.map(([key, value]) => `${key}=${value}`).join(","));
    args.push("--", release.release, ref);
    await helm(args, options, 15 * 60_000);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The parts of `helm status -o json` bosun reads. */
export interface HelmReleaseStatus {
  name: string;
  namespace: string;
  version: number;
  info: { status: string };
}

/** `helm status -o json` for one release. */
export async function helmStatus(target: HelmTarget, release: string, namespace: string, options: HelmOptions = {}): Promise<HelmReleaseStatus> {
  const { stdout } = await helm(["status", ...targetArgs(target), "--namespace", namespace, "-o", "json", "--", release], options);
  return JSON.parse(stdout) as HelmReleaseStatus;
}

/** How to uninstall (all optional). */
export interface HelmUninstallOptions {
  /** Helm's own timeout for the deletion and its hooks, e.g. `300s`. */
  helmTimeout?: string;
  /** A release that does not exist is not an error (`--ignore-not-found`, where this helm has it: 3.13+). */
  ignoreNotFound?: boolean;
}

/** `helm uninstall --wait` of one release. */
export async function helmUninstall(
  target: HelmTarget,
  release: string,
  namespace: string,
  options: HelmOptions = {},
  uninstall: HelmUninstallOptions = {},
): Promise<void> {
  const args = ["uninstall", ...targetArgs(target), "--namespace", namespace, "--wait"];
  if (uninstall.helmTimeout) args.push("--timeout", uninstall.helmTimeout);
  if (uninstall.ignoreNotFound && (await helmFeatures(options)).uninstallIgnoreNotFound) args.push("--ignore-not-found");
  args.push("--", release);
  await helm(args, options, 10 * 60_000);
}

/** One revision of a release, as `helm history -o json` prints it. */
export interface HelmRevision {
  revision: number;
  /** `deployed`, `superseded`, `failed`, `pending-install`, `pending-upgrade`, `pending-rollback`… */
  status: string;
  /** `<chart name>-<chart version>`. */
  chart: string;
}

/** `helm history -o json` of one release (at most `max` newest revisions), oldest first. */
export async function helmHistory(target: HelmTarget, release: string, namespace: string, options: HelmOptions = {}, max = 256): Promise<HelmRevision[]> {
  const { stdout } = await helm(["history", ...targetArgs(target), "--namespace", namespace, "--max", String(max), "-o", "json", "--", release], options, 60_000);
  const parsed = JSON.parse(stdout) as unknown;
  if (!Array.isArray(parsed)) return [];
  // Only the three fields are kept: a revision's description can quote an error, and an error can quote a value.
  return parsed
    .map((entry: { revision?: unknown; status?: unknown; chart?: unknown }) => ({
      revision: typeof entry.revision === "number" ? entry.revision : Number.NaN,
      status: typeof entry.status === "string" ? entry.status : "unknown",
      chart: typeof entry.chart === "string" ? entry.chart : "",
    }))
    .filter((entry) => Number.isInteger(entry.revision))
    .sort((a, b) => a.revision - b.revision);
}

/** How to roll back (all optional). */
export interface HelmRollbackOptions {
  /** Wait until the rolled-back workloads are ready (`--wait`). */
  wait?: boolean;
  /** Helm's own timeout, e.g. `300s`. */
  helmTimeout?: string;
  /** `--force-conflicts` (Helm 4 only, see {@link HelmFeatures.forceConflicts}). */
  forceConflicts?: boolean;
}

/** `helm rollback RELEASE REVISION`: a new revision with the manifest and values of `revision`. */
export async function helmRollback(
  target: HelmTarget,
  release: string,
  namespace: string,
  revision: number,
  options: HelmOptions = {},
  rollback: HelmRollbackOptions = {},
): Promise<void> {
  const args = ["rollback", ...targetArgs(target), "--namespace", namespace];
  if (rollback.wait) args.push("--wait");
  if (rollback.helmTimeout) args.push("--timeout", rollback.helmTimeout);
  if (rollback.forceConflicts && (await helmFeatures(options)).forceConflicts) args.push("--force-conflicts");
  args.push("--", release, String(revision));
  await helm(args, options, 15 * 60_000);
}
