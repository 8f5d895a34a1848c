/**
 * Errors of the pull-request hosts as bosun errors: the HTTP status decides the reason (401/403
 * `Unauthorized`, 5xx, 429 and network failures `Unreachable` and retryable, anything else `InvalidInput`:
 * a repository, pull request or commit that does not exist). Messages name the host and the operation and
 * are scrubbed of the token in every form it could be echoed in.
 */
import { BosunError } from "../errors.js";
import { scrubSecrets } from "../scrub.js";

/** A failed request to GitHub or GitLab. */
export class ScmApiError extends BosunError {
  /** The HTTP status, undefined when no answer came. */
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, cause?: unknown) {
    const reason = status === undefined || status >= 500 || status === 429 ? "Unreachable" : status === 401 || status === 403 ? "Unauthorized" : "InvalidInput";
    super(message, { reason, cause, retryable: reason === "Unreachable" });
    this.status = status;
  }
}

/**
 * Wraps what a client library threw while doing `operation` on `host` into a {@link ScmApiError}; its
 * message is scrubbed of `secrets`. The original error is not kept as the cause: client libraries carry
 * the request, headers included, in their errors.
 */
export function scmError(host: "GitHub" | "GitLab", operation: string, error: unknown, secrets: readonly string[]): ScmApiError {
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const what = status === undefined ? `no answer (${detail})` : `HTTP ${status}: ${detail}`;
  return new ScmApiError(scrubSecrets(`${host} API: ${operation}: ${what}`, secrets), status);
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const direct = (error as { status?: unknown }).status;
  if (typeof direct === "number") return direct;
  // gitbeaker: the response sits in the cause.
  const response = (error as { cause?: { response?: { status?: unknown } } }).cause?.response;
  return typeof response?.status === "number" ? response.status : undefined;
}
