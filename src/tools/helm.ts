/**
 * Typed wrapper around the `helm` binary (Helm 4 and Helm 3). Every call passes an argument array with `--`
 * before positionals where helm allows it, an explicit timeout, the cluster's kubeconfig and context, and
 * values through a temp file — never on the command line, where they would show in process listings.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runProcess, type RunResult } from "./process.js";

const HELM_HINT = "install it or set BOSUN_HELM";

/** Which cluster a helm command talks to. */
export interface HelmTarget {
  kubeconfig: string;
  context: string;
}

/** Options shared by every helm call. */
export interface HelmOptions {
  /** The helm executable; defaults to BOSUN_HELM, then `helm` on PATH. */
  helm?: string;
  timeoutMs?: number;
}

function helmFile(options: HelmOptions): string {
  return options.helm ?? process.env.BOSUN_HELM ?? "helm";
}

async function helm(args: string[], options: HelmOptions, timeoutMs = 120_000): Promise<RunResult> {
  return runProcess({
    tool: "helm",
    file: helmFile(options),
    args,
    timeoutMs: options.timeoutMs ?? timeoutMs,
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
