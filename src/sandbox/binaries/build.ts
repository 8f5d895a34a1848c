/**
 * Builds missing binaries once with the Go toolchain from the Go module proxy and caches them. Each build
 * group holds a lock, builds into a private temp directory and renames finished binaries into the cache,
 * so a reader never sees a half-written file and two builders never collide.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { BosunError } from "../../errors.js";
import { binCacheDir } from "../../paths.js";
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
import { acquireLock } from "../../lock.js";
import { pidExists } from "../../process-identity.js";
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
    await sweepAbandoned(group);
    const tmp = await fs.mkdtemp(path.join(binCacheDir(), `.tmp-${group}-${process.pid}-`));
    const ticker = packageTicker(group, progress);
    try {
      const out = path.join(tmp, "out");
      const work = path.join(tmp, "module");
      await fs.mkdir(out);
      await fs.mkdir(work);
      await BUILDERS[group](out, work, ticker.onPackage, progress);
      for (const name of members) await fs.rename(path.join(out, name), cachedPath(name));
    } catch (error) {
      throw new BosunError(`building ${members.join(", ")} failed: ${(error as Error).message}`, {
        reason: "BuildFailed",
        cause: error,
      });
    } finally {
      ticker.stop();
      await fs.rm(tmp, { recursive: true, force: true });
    }
    progress(`built ${members.join(", ")} in ${Math.round((Date.now() - started) / 1000)}s → ${binCacheDir()}`);
  } finally {
    await release();
  }
}

/**
 * Builds a group's binaries into `outDir`. `workDir` is a fresh, private directory for a wrapper module;
 * the Go module and build caches make a rebuild after a failure fast without reusing a possibly
 * half-written go.mod/go.sum.
 */
type Builder = (outDir: string, workDir: string, onPackage: (pkg: string) => void, progress: ProgressSink) => Promise<void>;

const BUILDERS: Record<BuildGroupId, Builder> = {
  kubernetes: (out, work, onPackage, progress) =>
    buildKubernetes(["kube-apiserver", "kube-controller-manager", "kube-scheduler"], out, work, onPackage, progress),
  kubectl: (out, work, onPackage, progress) => buildKubernetes(["kubectl"], out, work, onPackage, progress),
  etcd: buildEtcd,
  kwok: (out, work, onPackage) => installGroup("kwok", out, work, onPackage),
  helm: (out, work, onPackage) => installGroup("helm", out, work, onPackage),
  kustomize: (out, work, onPackage) => installGroup("kustomize", out, work, onPackage),
  registry: (out, work, onPackage) => installGroup("registry", out, work, onPackage),
};

/** Removes temp build directories left by builders that were killed (their pid is in the name). */
async function sweepAbandoned(group: BuildGroupId): Promise<void> {
  const entries = await fs.readdir(binCacheDir()).catch(() => [] as string[]);
  for (const entry of entries) {
    const match = new RegExp(`^\\.tmp-${group}-(\\d+)-`).exec(entry);
    if (match && !pidExists(Number(match[1]))) await fs.rm(path.join(binCacheDir(), entry), { recursive: true, force: true });
  }
}

async function buildKubernetes(
  commands: readonly (typeof KUBE_COMMANDS)[number][],
  outDir: string,
  dir: string,
  onPackage: (pkg: string) => void,
  progress: ProgressSink,
): Promise<void> {
  const version = VERSIONS.kubernetes;
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

async function buildEtcd(outDir: string, dir: string, onPackage: (pkg: string) => void, progress: ProgressSink): Promise<void> {
  const version = VERSIONS.etcd;
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

async function installGroup(name: "kwok" | "helm" | "kustomize" | "registry", outDir: string, workDir: string, onPackage: (pkg: string) => void): Promise<void> {
  const version = CATALOG[name].version;
  const install = INSTALLS[name];
  await goInstall({
    packageAtVersion: `${install.pkg}@v${version}`,
    gobin: outDir,
    ldflags: install.ldflags(version),
    cwd: workDir,
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
