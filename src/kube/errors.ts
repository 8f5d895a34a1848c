/**
 * The one translator from HTTP failures to bosun's typed errors, and the helpers that decide on them.
 * `KubeRest` turns every answer outside 2xx into a `KubeApiError` (with the API server's status reason)
 * and every missing answer into an `UnreachableError`; {@link kubeFailure} does the same for the errors
 * of the generated `@kubernetes/client-node` clients (which only the sandbox still uses), so callers decide
 * on `status`/`reason`, never on message text.
 */
import { BosunError } from "../errors.js";
import { abortableSleep } from "../poll.js";
import { KubeApiError, UnreachableError } from "./rest.js";

/**
 * The HTTP status of a failed request: a `KubeApiError`'s, or the `code` of an error thrown by
 * `@kubernetes/client-node`; undefined when there was no answer.
 */
export function httpStatus(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.status;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Runs a create call and treats "already exists" (HTTP 409) as success, for idempotent set-up. */
export async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (httpStatus(error) !== 409) throw error;
  }
}

/**
 * Runs a read-modify-write until it does not conflict (HTTP 409 from a stale resourceVersion), at most
 * `attempts` times. `update` must re-read the object each time. `signal` stops the retries.
 */
export async function retryOnConflict<T>(update: () => Promise<T>, attempts = 10, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await update();
    } catch (error) {
      if (httpStatus(error) !== 409 || attempt >= attempts) throw error;
      await abortableSleep(50 * attempt, signal);
      signal?.throwIfAborted();
    }
  }
}

/**
 * Turns an error from `@kubernetes/client-node` into bosun's: an HTTP status becomes a
 * {@link KubeApiError} with the API server's message, anything else (no answer) an
 * {@link UnreachableError}. A `BosunError` (from `KubeRest`) is returned as it is.
 */
export function kubeFailure(cluster: string, what: string, error: unknown): BosunError {
  if (error instanceof BosunError) return error;
  const status = httpStatus(error);
  if (status === undefined) {
    const message = error instanceof Error ? error.message : String(error);
    return new UnreachableError(cluster, `cluster ${cluster}: ${what}: ${message}`, error);
  }
  // ApiException's own message carries the whole body and the response headers; keep the Status's words.
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === "string" ? safeJson(body) : body;
  const statusObject = (typeof parsed === "object" && parsed !== null ? parsed : {}) as { message?: unknown; reason?: unknown };
  const reason = typeof statusObject.reason === "string" ? statusObject.reason : undefined;
  const detail = typeof statusObject.message === "string" ? statusObject.message : (reason ?? "error");
  return new KubeApiError(`cluster ${cluster}: ${what}: HTTP ${status}: ${detail}`, status, reason, `${cluster}:`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
