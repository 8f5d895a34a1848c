/**
 * Typed wrapper around the `helm` binary (Helm 4 and Helm 3). Every call passes an argument array with `--`
 * before positionals where helm allows it, an explicit timeout, the cluster's kubeconfig and context, and
 * values through a temp file — never on the command line, where they would show in process listings.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import semver from "semver";
import { binCacheDir } from "../paths.js";
import { isExecutable } from "./executable.js";
import { runProcess, type RunResult } from "./process.js";

const HELM_HINT = "install it or set BOSUN_HELM";

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
}

const resolved = new Map<string, Promise<string>>();

/**
 * Finds an external program the way every wrapper does: `explicit` (a caller's option), else the
 * environment variable `envVar` (BOSUN_HELM, BOSUN_KUSTOMIZE…), else `BOSUN_BIN_DIR/<name>`, else `name` on
 * PATH, else the newest `<name>-v<version>` in bosun's binary cache (where `bosun sandbox` builds helm and
 * kustomize), else `name` itself — so that running it reports the program as not found, with the hint.
 * The lookup is done once per process.
 */
export async function resolveTool(name: string, envVar: string, explicit?: string): Promise<string> {
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
    file: await resolveTool("helm", "BOSUN_HELM", options.helm),
    args,
    timeoutMs: options.timeoutMs ?? timeoutMs,
    ...(maxBuffer === undefined ? {} : { maxBuffer }),
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
}

/** `helm upgrade --install`, values passed through a temp file that is removed afterwards. */
export async function helmUpgradeInstall(target: HelmTarget, release: HelmRelease, options: HelmOptions = {}): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-helm-"));
  try {
    const valuesFile = path.join(dir, "values.json");
    // JSON is valid YAML; the file is readable by this user only.
    await fs.writeFile(valuesFile, JSON.stringify(release.values ?? {}), { mode: 0o600 });
    const args = ["upgrade", "--install", ...targetArgs(target), "--namespace", release.namespace, "--values", valuesFile];
    if (release.createNamespace) args.push("--create-namespace");
    if (release.repo) args.push("--repo", release.repo);
    if (release.version) args.push("--version", release.version);
    if (release.wait) args.push("--wait");
    if (release.helmTimeout) args.push("--timeout", release.helmTimeout);
    args.push("--", release.release, release.chart);
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

/** `helm uninstall` of one release. */
export async function helmUninstall(target: HelmTarget, release: string, namespace: string, options: HelmOptions = {}): Promise<void> {
  await helm(["uninstall", ...targetArgs(target), "--namespace", namespace, "--wait", "--", release], options, 10 * 60_000);
}
