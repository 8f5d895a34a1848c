/**
 * Typed wrapper around the `kustomize` binary. The executable is found as `helm.ts` finds helm
 * ({@link resolveTool}): the caller's option, else BOSUN_KUSTOMIZE, else BOSUN_BIN_DIR, PATH and bosun's
 * binary cache. Every call passes an argument array with `--` before positionals, an explicit timeout and a
 * buffer limit.
 */
import { resolveTool } from "./helm.js";
import { runProcess } from "./process.js";

const KUSTOMIZE_HINT = "install it, set BOSUN_KUSTOMIZE, or build it with `bosun sandbox binaries --for plan`";

/** Options shared by every kustomize call. */
export interface KustomizeOptions {
  /** The kustomize executable; defaults to {@link resolveTool}'s lookup. */
  kustomize?: string;
  timeoutMs?: number;
  /** Stops the program when it aborts (see `RunOptions.signal`). */
  signal?: AbortSignal;
}

/** Largest rendered output accepted from `kustomize build`. */
const BUILD_MAX_BUFFER = 64 * 1024 * 1024;

/**
 * The flags of every `kustomize build`, each spelled out although it is kustomize 5's default, so that no
 * future default, alias or wrapper script can turn one on: files load only from inside each kustomization's
 * root, and plugins, exec and container functions, their network access and Helm inflation stay off — a
 * fleet repository cannot make bosun run a program. (`kubectl kustomize` has the same flags but no
 * `--enable-exec`; bosun runs the kustomize binary only.) The spec loader refuses kustomizations that ask
 * for any of these before a build is ever started (src/spec/kustomization.ts).
 */
export const KUSTOMIZE_BUILD_FLAGS: readonly string[] = [
  "--load-restrictor",
  "LoadRestrictionsRootOnly",
  "--enable-helm=false",
  "--enable-alpha-plugins=false",
  "--enable-exec=false",
  "--network=false",
];

/** `kustomize build DIR`: the rendered objects as multi-document YAML, with {@link KUSTOMIZE_BUILD_FLAGS}. */
export async function kustomizeBuild(dir: string, options: KustomizeOptions = {}): Promise<string> {
  const { stdout } = await runProcess({
    tool: "kustomize",
    file: await resolveTool("kustomize", options.kustomize),
    args: ["build", ...KUSTOMIZE_BUILD_FLAGS, "--", dir],
    timeoutMs: options.timeoutMs ?? 60_000,
    maxBuffer: BUILD_MAX_BUFFER,
    notFoundHint: KUSTOMIZE_HINT,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return stdout;
}
