/**
 * How the apply modules that still call `@kubernetes/client-node`'s generated clients (the lock, the
 * journal) turn its errors into bosun's typed ones.
 */
import { BosunError } from "../errors.js";
import { httpStatus } from "../kube/errors.js";
import { KubeApiError, UnreachableError } from "../kube/rest.js";

/**
 * Turns an error from `@kubernetes/client-node` into bosun's: an HTTP status becomes a
 * {@link KubeApiError} with the API server's message, anything else (no answer) an
 * {@link UnreachableError}. Shared by the apply modules, which use the generated clients.
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
