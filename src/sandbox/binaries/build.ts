/**
 * Builds missing binaries once with the Go toolchain from the Go module proxy and caches them. Each build
 * group holds a lock, builds into a private temp directory and renames finished binaries into the cache,
 * so a reader never sees a half-written file and two builders never collide.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { BosunError } from "../../errors.js";
import { binCacheDir, cacheRoot } from "../../paths.js";
import { goBuild, goInstall, goModDownload, goModTidy, goVersion } from "../../tools/go.js";
import {
  ALL_BINARIES,
  CATALOG,
  CATALOG_NAMES,
  ETCD_PACKAGES,
  INSTALLS,
  VERSIONS,
  etcdWrapperGoMod,
  groupMembers,
  kubernetesLdflags,
  kubernetesWrapperGoMod,
  toolsGo,
  type BinaryName,
  type BuildGroupId,
} from "./catalog.js";
import { acquireLock } from "./lock.js";
import { cachedPath, locateBinary, type LocatedBinary } from "./locate.js";

/** Receives one line of human-readable progress. */
export type ProgressSink = (line: string) => void;

/** Paths of the requested binaries, by name. */
export type BinaryPaths = Partial<Record<BinaryName, string>>;

const KUBE_COMMANDS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"] as const;

/**
 * Returns a path for every requested binary, building (once, under a lock) whatever is not found in
 * BOSUN_BIN_DIR, PATH or the cache.
 */
export async function ensureBinaries(names: readonly BinaryName[], progress: ProgressSink): Promise<BinaryPaths> {
  const found = new Map<BinaryName, LocatedBinary>();
  const missing: BinaryName[] = [];
  for (const name of names) {
    const located = await locateBinary(name, progress);
    if (located) found.set(name, located);
    else missing.push(name);
  }
  const groups = [...new Set(missing.map((name) => CATALOG[name].group))];
  if (groups.length > 0) {
    await requireGo(missing);
    for (const group of groups) await buildGroup(group, progress);
  }
  const paths: BinaryPaths = {};
  for (const name of names) paths[name] = found.get(name)?.path ?? cachedPath(name);
  return paths;
}

/** Every binary the sandbox and the tests use. */
export function allBinaryNames(): readonly BinaryName[] {
  return ALL_BINARIES;
}

/** True when `name` is in the catalogue (for validating command-line input). */
export function isBinaryName(name: string): name is BinaryName {
  return (CATALOG_NAMES as readonly string[]).includes(name);
}

async function requireGo(missing: readonly BinaryName[]): Promise<void> {
  try {
    await goVersion();
  } catch (error) {
    throw new BosunError(
      `cannot build ${missing.join(", ")}: the Go toolchain is not installed. Install Go, or set BOSUN_BIN_DIR ` +
        `to a directory holding these binaries (${missing.join(", ")}).`,
      { reason: "ToolNotFound", cause: error },
    );
  }
}

async function buildGroup(group: BuildGroupId, progress: ProgressSink): Promise<void> {
  const members = groupMembers(group);
  const release = await acquireLock(path.join(binCacheDir(), `.lock-${group}`), (holder) => {
    progress(`waiting for another bosun process (pid ${holder ?? "?"}) that is building ${members.join(", ")}`);
  });
  try {
    // Another process may have finished this group while we waited.
    const stillMissing = [];
    for (const name of members) if (!(await exists(cachedPath(name)))) stillMissing.push(name);
    if (stillMissing.length === 0) return;

    const started = Date.now();
    progress(`building ${members.join(", ")} with go from the module proxy (first run only; minutes on 2 cores)`);
    const tmp = await fs.mkdtemp(path.join(binCacheDir(), `.tmp-${group}-`));
    try {
      const ticker = packageTicker(group, progress);
      await BUILDERS[group](tmp, ticker.onPackage, progress);
      ticker.stop();
      for (const name of members) await fs.rename(path.join(tmp, name), cachedPath(name));
    } catch (error) {
      throw new BosunError(`building ${members.join(", ")} failed: ${(error as Error).message}`, {
        reason: "BuildFailed",
        cause: error,
      });
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
    progress(`built ${members.join(", ")} in ${Math.round((Date.now() - started) / 1000)}s → ${binCacheDir()}`);
  } finally {
    await release();
  }
}

type Builder = (outDir: string, onPackage: (pkg: string) => void, progress: ProgressSink) => Promise<void>;

const BUILDERS: Record<BuildGroupId, Builder> = {
  kubernetes: (out, onPackage, progress) => buildKubernetes("kubernetes", ["kube-apiserver", "kube-controller-manager", "kube-scheduler"], out, onPackage, progress),
  kubectl: (out, onPackage, progress) => buildKubernetes("kubectl", ["kubectl"], out, onPackage, progress),
  etcd: buildEtcd,
  kwok: (out, onPackage) => installGroup("kwok", out, onPackage),
  helm: (out, onPackage) => installGroup("helm", out, onPackage),
  kustomize: (out, onPackage) => installGroup("kustomize", out, onPackage),
};

async function wrapperDir(group: BuildGroupId, version: string): Promise<string> {
  // Kept between runs: a second build after a failure reuses the resolved go.mod/go.sum.
  const dir = path.join(cacheRoot(), "build", `${group}-v${version}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

async function buildKubernetes(
  group: "kubernetes" | "kubectl",
  commands: readonly (typeof KUBE_COMMANDS)[number][],
  outDir: string,
  onPackage: (pkg: string) => void,
  progress: ProgressSink,
): Promise<void> {
  const version = VERSIONS.kubernetes;
  // A wrapper module per group: each group has its own lock, so two groups never share a directory.
  const dir = await wrapperDir(group, version);
  progress(`resolving k8s.io/kubernetes v${version} and its staging modules`);
  const info = await goModDownload(`k8s.io/kubernetes@v${version}`, dir);
  const kubernetesGoMod = await fs.readFile(info.GoMod, "utf8");
  await fs.writeFile(path.join(dir, "go.mod"), kubernetesWrapperGoMod(version, kubernetesGoMod));
  await fs.writeFile(path.join(dir, "tools.go"), toolsGo(KUBE_COMMANDS.map((c) => `k8s.io/kubernetes/cmd/${c}`)));
  await goModTidy(dir);
  const ldflags = kubernetesLdflags(version, buildDate());
  for (const command of commands) {
    progress(`compiling ${command} v${version}`);
    await goBuild({
      cwd: dir,
      packagePath: `k8s.io/kubernetes/cmd/${command}`,
      output: path.join(outDir, command),
      ldflags,
      tags: ["selinux", "notest", "grpcnotrace"],
      onPackage,
    });
  }
}

async function buildEtcd(outDir: string, onPackage: (pkg: string) => void, progress: ProgressSink): Promise<void> {
  const version = VERSIONS.etcd;
  const dir = await wrapperDir("etcd", version);
  await fs.writeFile(path.join(dir, "go.mod"), etcdWrapperGoMod(version));
  await fs.writeFile(path.join(dir, "tools.go"), toolsGo(Object.values(ETCD_PACKAGES)));
  progress(`resolving etcd v${version}`);
  await goModTidy(dir);
  for (const [name, pkg] of Object.entries(ETCD_PACKAGES)) {
    progress(`compiling ${name} v${version}`);
    await goBuild({
      cwd: dir,
      packagePath: pkg,
      output: path.join(outDir, name),
      ldflags: ["-s", "-w"],
      onPackage,
    });
  }
}

async function installGroup(name: "kwok" | "helm" | "kustomize", outDir: string, onPackage: (pkg: string) => void): Promise<void> {
  const version = CATALOG[name].version;
  const install = INSTALLS[name];
  await goInstall({
    packageAtVersion: `${install.pkg}@v${version}`,
    gobin: outDir,
    ldflags: install.ldflags(version),
    cwd: outDir,
    onPackage,
  });
  // `go install` names the binary after its package path, without a major-version suffix such as /v5.
  const produced = path.join(outDir, path.basename(install.pkg).replace(/^v\d+$/, path.basename(path.dirname(install.pkg))));
  if (produced !== path.join(outDir, name)) await fs.rename(produced, path.join(outDir, name));
}

function packageTicker(group: string, progress: ProgressSink): { onPackage: (pkg: string) => void; stop: () => void } {
  let count = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    progress(`  ${group}: ${count} packages compiled, ${Math.round((Date.now() - started) / 1000)}s`);
  }, 20_000);
  timer.unref();
  return {
    onPackage: (line) => {
      // `go build -v` prints one package path per line; anything else (download notices) is not counted.
      if (/^[\w.\-/]+$/.test(line.trim())) count += 1;
    },
    stop: () => {
      clearInterval(timer);
    },
  };
}

function buildDate(): string {
  // Fixed rather than "now", so two builds of one version are identical.
  return "2026-01-01T00:00:00Z";
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
