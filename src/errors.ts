/**
 * bosun's typed errors. Every failure bosun reports is a `BosunError` whose `reason` — never its message
 * text — decides what happens next: the CLI maps reasons to exit codes in one place (`src/cli/exit.ts`),
 * and callers decide whether to retry from `retryable`.
 */

/** Closed vocabulary of failure reasons. */
export type ErrorReason =
  | "InvalidInput"
  | "Usage"
  | "ToolNotFound"
  | "ProcessFailed"
  | "ProcessTimeout"
  | "BuildFailed"
  | "SandboxExists"
  | "SandboxNotFound"
  | "SandboxStartFailed"
  | "Unreachable"
  | "KubeApi"
  | "GitFailed"
  | "RenderFailed"
  | "ApplyFailed"
  | "HealthTimeout"
  | "Locked"
  | "StateConflict"
  | "InvalidState"
  | "Unauthorized"
  | "Internal";

/**
 * Where in a step a failure happened (STYLE item 5: each phase fails with its own reason): add-on phases
 * (render, recover, apply, inventory, prune, health, uninstall), node upgrade phases (cordon, drain, job,
 * node-wait), the skew guard before a change (guard), the etcd snapshot (snapshot), a Cluster API patch
 * and its rollout wait (patch, wait). Carried into the journal and the output.
 */
export type FailurePhase =
  | "render"
  | "recover"
  | "apply"
  | "inventory"
  | "prune"
  | "health"
  | "uninstall"
  | "cordon"
  | "drain"
  | "job"
  | "node-wait"
  | "guard"
  | "snapshot"
  | "patch"
  | "wait";

/** Options every bosun error accepts. */
export interface BosunErrorOptions {
  reason: ErrorReason;
  /** The phase of the step that failed, when the error comes from one. */
  phase?: FailurePhase;
  /** The object the error is about, as `cluster:Kind/namespace/name` (see `src/identity.ts`). */
  identity?: string;
  cause?: unknown;
  /** Whether repeating the same operation later may succeed. */
  retryable?: boolean;
}

/** Base class of every error bosun throws on purpose. */
export class BosunError extends Error {
  readonly reason: ErrorReason;
  readonly identity: string | undefined;
  readonly retryable: boolean;
  /** See {@link FailurePhase}; undefined outside a step's phases. */
  readonly phase: FailurePhase | undefined;

  constructor(message: string, options: BosunErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.reason = options.reason;
    this.phase = options.phase;
    this.identity = options.identity;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * A command line that cannot be run as given (unknown flag, missing argument, a bad flag value, a path given
 * on the command line that does not exist). Exit code 2 (see src/cli/exit.ts).
 */
export class UsageError extends BosunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { reason: "Usage", ...options });
  }
}

/** Input bosun was given (a file, a spec, a flag value) is wrong. Nothing was changed. */
export class InvalidInputError extends BosunError {
  constructor(message: string, options: { identity?: string; cause?: unknown } = {}) {
    super(message, { reason: "InvalidInput", ...options });
  }
}

/** An external program bosun needs is not installed where bosun looks for it. */
export class ToolNotFoundError extends BosunError {
  readonly tool: string;
  constructor(tool: string, hint: string) {
    super(`${tool} not found: ${hint}`, { reason: "ToolNotFound" });
    this.tool = tool;
  }
}

/** An external program exited non-zero, was killed, or ran past its timeout. */
export class ProcessError extends BosunError {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;

  constructor(fields: {
    tool: string;
    args: readonly string[];
    exitCode: number | undefined;
    stderr: string;
    timedOut: boolean;
    cause?: unknown;
  }) {
    const what = fields.timedOut
      ? "timed out"
      : fields.exitCode === undefined
        ? "was killed"
        : `exited with code ${fields.exitCode}`;
    const tail = lastLines(fields.stderr, 20);
    super(`${fields.tool} ${what}${tail ? `:\n${tail}` : ""}`, {
      reason: fields.timedOut ? "ProcessTimeout" : "ProcessFailed",
      cause: fields.cause,
      retryable: fields.timedOut,
    });
    this.tool = fields.tool;
    this.args = fields.args;
    this.exitCode = fields.exitCode;
    this.stderr = fields.stderr;
    this.timedOut = fields.timedOut;
  }
}

/** A bug in bosun itself: an invariant did not hold. */
export class InternalError extends BosunError {
  constructor(message: string, cause?: unknown) {
    super(`internal error (a bug in bosun): ${message}`, { reason: "Internal", cause });
  }
}

/** Wraps anything thrown into an Error, so callers never handle non-Error values. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split("\n").slice(-count).join("\n");
}
