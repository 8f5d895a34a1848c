/**
 * Typed wrapper around the Go toolchain, used only to build the sandbox's binaries from the Go module proxy
 * (DESIGN section 7). The proxy configuration is the user's own (`go env GOPROXY`); bosun adds `-mod=mod`
 * so a wrapper module's requirements resolve without a committed go.sum.
 */
import { runProcess } from "./process.js";

const GO_HINT =
  "install the Go toolchain (https://go.dev/doc/install) or put prebuilt binaries in a directory and set BOSUN_BIN_DIR to it";

function goFile(): string {
  return process.env.BOSUN_GO ?? "go";
}

function goEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { GOFLAGS: "-mod=mod", CGO_ENABLED: "0", ...extra };
}

/** Reports `go version`, or throws `ToolNotFoundError` naming BOSUN_BIN_DIR. */
export async function goVersion(): Promise<string> {
  const { stdout } = await runProcess({
    tool: "go",
    file: goFile(),
    args: ["version"],
    timeoutMs: 30_000,
    notFoundHint: GO_HINT,
  });
  return stdout.trim();
}

/** Facts `go mod download -json` reports about one module version. */
export interface ModuleInfo {
  Path: string;
  Version: string;
  /** Path of the module's go.mod file in the module cache. */
  GoMod: string;
  /** Path of the extracted module in the module cache. */
  Dir?: string;
}

/** Downloads one module version into the module cache and returns where it is. */
export async function goModDownload(moduleAtVersion: string, cwd: string): Promise<ModuleInfo> {
  const { stdout } = await runProcess({
    tool: "go",
    file: goFile(),
    args: ["mod", "download", "-json", "--", moduleAtVersion],
    cwd,
    env: goEnv(),
    timeoutMs: 20 * 60_000,
    notFoundHint: GO_HINT,
  });
  return JSON.parse(stdout) as ModuleInfo;
}

/** Runs `go mod tidy` in a wrapper module directory. */
export async function goModTidy(cwd: string, onLine?: (line: string) => void): Promise<void> {
  await runProcess({
    tool: "go",
    file: goFile(),
    args: ["mod", "tidy"],
    cwd,
    env: goEnv(),
    timeoutMs: 30 * 60_000,
    onStderrLine: onLine,
    notFoundHint: GO_HINT,
  });
}

/** What to compile with `go build`. */
export interface GoBuildOptions {
  /** A module directory (for wrapper modules) in which the package is resolved. */
  cwd: string;
  packagePath: string;
  /** The output file. */
  output: string;
  ldflags: readonly string[];
  tags?: readonly string[];
  /** Called with each package name as it is compiled (`go build -v`), for progress. */
  onPackage?: (pkg: string) => void;
  env?: Record<string, string>;
}

/** Compiles one main package to `output`, statically and reproducibly (`-trimpath`, CGO off). */
export async function goBuild(options: GoBuildOptions): Promise<void> {
  const args = ["build", "-v", "-trimpath", "-o", options.output];
  if (options.tags && options.tags.length > 0) args.push("-tags", options.tags.join(","));
  args.push("-ldflags", options.ldflags.join(" "), "--", options.packagePath);
  await runProcess({
    tool: "go",
    file: goFile(),
    args,
    cwd: options.cwd,
    env: goEnv(options.env),
    timeoutMs: 60 * 60_000,
    onStderrLine: options.onPackage,
    notFoundHint: GO_HINT,
  });
}

/** What to install with `go install module/pkg@version`. */
export interface GoInstallOptions {
  /** e.g. `helm.sh/helm/v4/cmd/helm@v4.3.1`. */
  packageAtVersion: string;
  /** Directory the binary is written to (GOBIN). */
  gobin: string;
  ldflags: readonly string[];
  cwd: string;
  onPackage?: (pkg: string) => void;
}

/** Builds a published main package at a version, outside any module, into `gobin`. */
export async function goInstall(options: GoInstallOptions): Promise<void> {
  // `-mod=mod` is not allowed outside a module with `pkg@version`; GOFLAGS is cleared for this call.
  await runProcess({
    tool: "go",
    file: goFile(),
    args: ["install", "-v", "-trimpath", "-ldflags", options.ldflags.join(" "), "--", options.packageAtVersion],
    cwd: options.cwd,
    env: { GOFLAGS: "", CGO_ENABLED: "0", GOBIN: options.gobin },
    timeoutMs: 60 * 60_000,
    onStderrLine: options.onPackage,
    notFoundHint: GO_HINT,
  });
}
