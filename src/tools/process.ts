/**
 * The single place where bosun starts an external program and waits for it. Each program has its own typed
 * wrapper in this folder (`go.ts`, `helm.ts`, …) that builds argument arrays and calls `runProcess`; nothing
 * in bosun runs a shell string.
 */
import { execa, type ExecaError } from "execa";
import { BosunError, ProcessError, ToolNotFoundError } from "../errors.js";

/** How to run one external program. */
export interface RunOptions {
  /** Short program name for messages, e.g. `helm`. */
  tool: string;
  /** Absolute path or PATH name of the executable. */
  file: string;
  args: readonly string[];
  /** Hard limit; the process is killed (SIGTERM, then SIGKILL) when it is exceeded. */
  timeoutMs: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Extra environment replaces nothing else: it is added to the parent's. */
  input?: string;
  /** Largest stdout/stderr kept in memory, in bytes. */
  maxBuffer?: number;
  /** Called with each line of stderr as it arrives (progress for long builds). */
  onStderrLine?: (line: string) => void;
  /** What to tell the user when the executable is missing. */
  notFoundHint: string;
  /**
   * Stops the program (SIGTERM, then SIGKILL after 5 s) when it aborts — a lost lock or SIGTERM must stop
   * a helm that is writing, not only the next request. Then the signal's reason is thrown when it is a
   * `BosunError`, else a `ProcessError`.
   */
  signal?: AbortSignal;
}

/** What a finished program printed. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

/**
 * Variables no program bosun runs needs, holding credentials: removed from every child's environment
 * (a chart's plugin or a kustomize generator must never see the Git token).
 */
const WITHHELD_ENV = new Set(["BOSUN_GIT_TOKEN", "BOSUN_GIT_USERNAME", "BOSUN_GIT_PASSWORD"]);

/**
 * Adds variables to those removed from every child's environment: the ones the operator's chart
 * credentials name (`passwordEnv`, `tokenEnv`, `usernameEnv`), which bosun reads itself and no helm,
 * kustomize or plugin needs.
 */
export function withholdFromChildren(names: Iterable<string>): void {
  for (const name of names) WITHHELD_ENV.add(name);
}

/** Runs a program to completion; a non-zero exit, a signal or a timeout becomes a `ProcessError`. */
export async function runProcess(options: RunOptions): Promise<RunResult> {
  options.signal?.throwIfAborted();
  const child = execa(options.file, [...options.args], {
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    cwd: options.cwd,
    // An undefined value removes the variable from the environment the child inherits.
    env: { ...Object.fromEntries([...WITHHELD_ENV].map((name) => [name, undefined])), ...options.env },
    extendEnv: true,
    input: options.input,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 5_000,
    maxBuffer: options.maxBuffer ?? DEFAULT_MAX_BUFFER,
    stripFinalNewline: false,
    reject: false,
    windowsHide: true,
    // Explicit, so nothing inherited (a polluted Object.prototype.shell included) can turn this into a shell.
    shell: false,
  });
  const onLine = options.onStderrLine;
  if (onLine) {
    let pending = "";
    child.stderr.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
  const result = await child;
  if (result.failed) {
    const error = result as unknown as ExecaError;
    const reason: unknown = options.signal?.reason;
    if (options.signal?.aborted && reason instanceof BosunError) throw reason;
    if ((error.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT" || error.code === "ENOENT") {
      throw new ToolNotFoundError(options.tool, options.notFoundHint);
    }
    throw new ProcessError({
      tool: options.tool,
      args: options.args,
      exitCode: result.exitCode,
      stderr: result.stderr,
      timedOut: result.timedOut,
      cause: error,
    });
  }
  return { stdout: result.stdout, stderr: result.stderr };
}
