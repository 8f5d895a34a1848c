/**
 * Typed wrapper around the `kustomize` binary. The executable is found as `helm.ts` finds helm
 * ({@link resolveTool}): the caller's option, else BOSUN_KUSTOMIZE, else BOSUN_BIN_DIR, PATH and bosun's
 * binary cache. Every call passes an argument array with `--` before positionals, an explicit timeout and a
 * buffer limit.
 */
import { resolveTool } from "./helm.js";
import { runProcess } from "./process.js";

const KUSTOMIZE_HINT = "install it or set BOSUN_KUSTOMIZE";

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
 * `kustomize build DIR`: the rendered objects as multi-document YAML. Loading files from outside `dir` stays
 * forbidden (kustomize's default load restrictor), and no plugins, exec functions or Helm inflation are
 * enabled, so a fleet repository cannot make bosun run programs.
 */
export async function kustomizeBuild(dir: string, options: KustomizeOptions = {}): Promise<string> {
  const { stdout } = await runProcess({
    tool: "kustomize",
    file: await resolveTool("kustomize", "BOSUN_KUSTOMIZE", options.kustomize),
    args: ["build", "--", dir],
    timeoutMs: options.timeoutMs ?? 60_000,
    maxBuffer: BUILD_MAX_BUFFER,
    notFoundHint: KUSTOMIZE_HINT,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return stdout;
}
