/**
 * The programs the sandbox runs, the versions bosun builds, and how each is built from the Go module proxy.
 * Versions are pinned here and nowhere else; the cache file name carries the version, so changing a pin
 * builds the new one beside the old.
 */
import { PLAN_APPLY_TOOL_NAMES } from "../../tools/names.js";

/** Versions of the programs bosun builds. Kubernetes' minor decides the Go version it needs (1.36 → 1.26). */
export const VERSIONS = {
  kubernetes: "1.36.3",
  etcd: "3.6.16",
  kwok: "0.8.0",
  helm: "4.3.1",
  kustomize: "5.8.2",
  registry: "3.1.2",
} as const;

/** Every program bosun can locate or build. */
export type BinaryName =
  | "etcd"
  | "etcdctl"
  | "etcdutl"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kubectl"
  | "kwok"
  | "helm"
  | "kustomize"
  | "registry";

/**
 * The binaries the sandbox and the test suite use, in build order (cheap ones first so a failure shows
 * early). kubectl is in the catalogue for the container image but not here: the machines have one.
 */
export const ALL_BINARIES: readonly BinaryName[] = [
  "kustomize",
  "helm",
  "kwok",
  "etcd",
  "etcdctl",
  "etcdutl",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
];

/** How bosun recognises a usable binary of this name found on PATH. */
export interface VersionProbe {
  args: readonly string[];
  /** Returns true when the printed version is one bosun works with. */
  accepts: (output: string) => boolean;
}

/** A set of binaries built together from one wrapper module or one `go install`. */
export type BuildGroupId = "kubernetes" | "kubectl" | "etcd" | "kwok" | "helm" | "kustomize" | "registry";

/** One binary's entry in the catalogue. */
export interface BinaryEntry {
  name: BinaryName;
  version: string;
  group: BuildGroupId;
  probe: VersionProbe;
}

function minorAtLeast(output: string, pattern: RegExp, major: number, minor: number): boolean {
  const match = pattern.exec(output);
  if (!match) return false;
  const [maj, min] = [Number(match[1]), Number(match[2])];
  return maj > major || (maj === major && min >= minor);
}

// Kubernetes' server components must all be the pinned release: mixing a PATH apiserver with a cached
// controller-manager of another minor would be an unsupported skew, and /version must be predictable.
const kubeProbe: VersionProbe = {
  args: ["--version"],
  accepts: (out) => out.includes(`Kubernetes v${VERSIONS.kubernetes}`),
};
// kube-apiserver 1.34+ carries the etcd 3.6 client; Debian's etcd 3.4 is too old for it.
const etcdProbe: VersionProbe = { args: ["--version"], accepts: (out) => minorAtLeast(out, /Version: (\d+)\.(\d+)\./, 3, 6) };
const etcdctlProbe: VersionProbe = { args: ["version"], accepts: (out) => minorAtLeast(out, /version: (\d+)\.(\d+)\./i, 3, 6) };

/** The catalogue, by binary name. */
export const CATALOG: Readonly<Record<BinaryName, BinaryEntry>> = {
  etcd: { name: "etcd", version: VERSIONS.etcd, group: "etcd", probe: etcdProbe },
  etcdctl: { name: "etcdctl", version: VERSIONS.etcd, group: "etcd", probe: etcdctlProbe },
  etcdutl: { name: "etcdutl", version: VERSIONS.etcd, group: "etcd", probe: etcdctlProbe },
  "kube-apiserver": { name: "kube-apiserver", version: VERSIONS.kubernetes, group: "kubernetes", probe: kubeProbe },
  "kube-controller-manager": {
    name: "kube-controller-manager",
    version: VERSIONS.kubernetes,
    group: "kubernetes",
    probe: kubeProbe,
  },
  "kube-scheduler": { name: "kube-scheduler", version: VERSIONS.kubernetes, group: "kubernetes", probe: kubeProbe },
  kubectl: {
    name: "kubectl",
    version: VERSIONS.kubernetes,
    group: "kubectl",
    probe: { args: ["version", "--client"], accepts: (out) => minorAtLeast(out, /Client Version: v(\d+)\.(\d+)\./, 1, 30) },
  },
  kwok: {
    name: "kwok",
    version: VERSIONS.kwok,
    group: "kwok",
    probe: { args: ["--version"], accepts: (out) => minorAtLeast(out, /v?(\d+)\.(\d+)\.\d+/, 0, 6) },
  },
  helm: {
    name: "helm",
    version: VERSIONS.helm,
    group: "helm",
    // Helm 3 and Helm 4 both work (DESIGN section 5).
    probe: { args: ["version", "--short"], accepts: (out) => /^v[34]\./m.test(out.trim()) },
  },
  kustomize: {
    name: "kustomize",
    version: VERSIONS.kustomize,
    group: "kustomize",
    probe: { args: ["version"], accepts: (out) => /v5\.\d+\.\d+/.test(out) },
  },
  // The CNCF distribution registry: the tests' OCI registry for charts (`helm push`, `helm pull`).
  registry: {
    name: "registry",
    version: VERSIONS.registry,
    group: "registry",
    probe: { args: ["--version"], accepts: (out) => /github\.com\/distribution\/distribution\/v3 v3\./.test(out) },
  },
};

/** Every name in the catalogue: the sandbox's, kubectl, and the registry only the tests run. */
export const CATALOG_NAMES: readonly BinaryName[] = [...ALL_BINARIES, "kubectl", "registry"];

/** What needs binaries: a bosun command, the demo, or the test suite. */
export type BinaryUse = "plan" | "apply" | "sandbox-lite" | "sandbox-full" | "demo" | "test";

/** Every {@link BinaryUse}, for flag validation and help text. */
export const BINARY_USES: readonly BinaryUse[] = ["plan", "apply", "sandbox-lite", "sandbox-full", "demo", "test"];

/** True when `use` names a {@link BinaryUse} (for validating `--for`). */
export function isBinaryUse(use: string): use is BinaryUse {
  return (BINARY_USES as readonly string[]).includes(use);
}

const SANDBOX_LITE: readonly BinaryName[] = ["etcd", "kube-apiserver"];
const SANDBOX_FULL: readonly BinaryName[] = [...SANDBOX_LITE, "kube-controller-manager", "kube-scheduler", "kwok"];

/**
 * The binaries each use needs — the one list `bosun sandbox binaries --for`, `npm run setup`, the demo,
 * `sandbox up` and the test setup ensure. plan and apply need exactly the programs `resolveTool` may
 * resolve (src/tools/names.ts); the demo starts a full sandbox and applies; the tests use everything, with
 * kubectl (the machines have one; elsewhere it is built).
 */
export const BINARIES_FOR: Readonly<Record<BinaryUse, readonly BinaryName[]>> = {
  plan: inBuildOrder(PLAN_APPLY_TOOL_NAMES),
  apply: inBuildOrder(PLAN_APPLY_TOOL_NAMES),
  "sandbox-lite": inBuildOrder(SANDBOX_LITE),
  "sandbox-full": inBuildOrder(SANDBOX_FULL),
  demo: inBuildOrder([...SANDBOX_FULL, ...PLAN_APPLY_TOOL_NAMES]),
  test: inBuildOrder(CATALOG_NAMES),
};

/** `names` without repeats, in the catalogue's build order (cheap builds first, so failures show early). */
function inBuildOrder(names: readonly BinaryName[]): readonly BinaryName[] {
  return CATALOG_NAMES.filter((name) => names.includes(name));
}

/** The binaries of a build group. */
export function groupMembers(group: BuildGroupId): BinaryName[] {
  return CATALOG_NAMES.filter((name) => CATALOG[name].group === group);
}

/** Linker flags that make Kubernetes binaries report their real version (`--version`, `/version`). */
export function kubernetesLdflags(version: string, buildDate: string): string[] {
  const [major = "1", minor = "0"] = version.split(".");
  const flags = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    flags.push(
      `-X ${pkg}.gitVersion=v${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=${buildDate}`,
    );
  }
  return flags;
}

/**
 * The wrapper module that builds Kubernetes' commands. k8s.io/kubernetes requires its staging modules at
 * v0.0.0 and replaces them with local directories, so a consumer must replace every one with its published
 * v0.MINOR.PATCH (the list is read from Kubernetes' own go.mod).
 */
export function kubernetesWrapperGoMod(version: string, kubernetesGoMod: string): string {
  const stagingVersion = `v0.${version.split(".").slice(1).join(".")}`;
  const staging = [...kubernetesGoMod.matchAll(/^\s*(k8s\.io\/[\w.\-/]+)\s+=>\s+\.\/staging\//gm)]
    .map((m) => m[1] ?? "")
    .filter((name) => name !== "")
    .sort();
  const goDirective = /^go (\S+)/m.exec(kubernetesGoMod)?.[1] ?? "1.26.0";
  const replaces = staging.map((name) => `\t${name} => ${name} ${stagingVersion}`).join("\n");
  return `module bosun.dev/sandbox/build/kubernetes\n\ngo ${goDirective}\n\nrequire k8s.io/kubernetes v${version}\n\nreplace (\n${replaces}\n)\n`;
}

/** The wrapper module that builds etcd, etcdctl and etcdutl (their own go.mod files use local replaces). */
export function etcdWrapperGoMod(version: string): string {
  return [
    "module bosun.dev/sandbox/build/etcd",
    "",
    "go 1.26.0",
    "",
    "require (",
    `\tgo.etcd.io/etcd/server/v3 v${version}`,
    `\tgo.etcd.io/etcd/etcdctl/v3 v${version}`,
    `\tgo.etcd.io/etcd/etcdutl/v3 v${version}`,
    ")",
    "",
  ].join("\n");
}

/** A `tools.go` that keeps `go mod tidy` from dropping the requirements of packages we only build. */
export function toolsGo(packages: readonly string[]): string {
  const imports = packages.map((p) => `\t_ "${p}"`).join("\n");
  return `//go:build tools\n\n// Package tools pins the commands this wrapper module builds.\npackage tools\n\nimport (\n${imports}\n)\n`;
}

/** Main package of each etcd binary. */
export const ETCD_PACKAGES: Readonly<Record<"etcd" | "etcdctl" | "etcdutl", string>> = {
  etcd: "go.etcd.io/etcd/server/v3",
  etcdctl: "go.etcd.io/etcd/etcdctl/v3",
  etcdutl: "go.etcd.io/etcd/etcdutl/v3",
};

/** `go install` targets and version ldflags for the programs that build without a wrapper module. */
export const INSTALLS: Readonly<Record<"kwok" | "helm" | "kustomize" | "registry", { pkg: string; ldflags: (v: string) => string[] }>> = {
  kwok: {
    pkg: "sigs.k8s.io/kwok/cmd/kwok",
    ldflags: (v) => ["-s", "-w", `-X sigs.k8s.io/kwok/pkg/consts.Version=${v}`],
  },
  helm: {
    pkg: "helm.sh/helm/v4/cmd/helm",
    ldflags: (v) => ["-s", "-w", `-X helm.sh/helm/v4/internal/version.version=v${v}`, "-X helm.sh/helm/v4/internal/version.gitTreeState=clean"],
  },
  kustomize: { pkg: "sigs.k8s.io/kustomize/kustomize/v5", ldflags: () => ["-s", "-w"] },
  registry: { pkg: "github.com/distribution/distribution/v3/cmd/registry", ldflags: () => ["-s", "-w"] },
};
