/**
 * The one road from bosun to an alert receiver: a JSON POST with a timeout, retried with exponential
 * backoff when the receiver is unreachable or answers 5xx (or 429, "try later"), never when it refuses the
 * request (any other 4xx: sending the same body again cannot help). Redirects are not followed: a receiver
 * URL is a credential, and a redirect would carry the body (and the signature) somewhere the operator did
 * not name.
 */
import { AlertDeliveryError } from "./errors.js";

/** How hard one delivery tries. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  /** The wait before the second attempt; doubled for each further one (default 1s). */
  baseDelayMs: number;
  /** The longest wait between attempts (default 30s). */
  maxDelayMs: number;
  /** How long one request may take, connection and answer (default 10s). */
  timeoutMs: number;
}

/** The policy when the caller sets none. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000 };

/** A wait that the caller's clock controls (tests pass a fake one). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/** One POST to a receiver. */
export interface PostRequest {
  receiver: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
  retry: RetryPolicy;
  sleep: Sleep;
  signal?: AbortSignal;
}

/** The outcome of a delivered POST. */
export interface PostResult {
  status: number;
  attempts: number;
}

/**
 * POSTs `body` as JSON, retrying as the module describes. Throws {@link AlertDeliveryError} after the last
 * attempt or on a refusal; its message has the status or the network error's code, never the URL.
 */
export async function postJson(request: PostRequest): Promise<PostResult> {
  for (let attempt = 1; ; attempt += 1) {
    let failure: { detail: string; reason: "Unauthorized" | "Unreachable" | "InvalidInput"; retryable: boolean; status?: number };
    try {
      const status = await postOnce(request);
      if (status >= 200 && status < 300) return { status, attempts: attempt };
      const retryable = status >= 500 || status === 429;
      const reason = status === 401 || status === 403 ? "Unauthorized" : retryable ? "Unreachable" : "InvalidInput";
      failure = { detail: `answered HTTP ${String(status)}`, reason, retryable, status };
    } catch (thrown) {
      if (request.signal?.aborted === true) throw new AlertDeliveryError(request.receiver, "delivery cancelled", { reason: "Unreachable", retryable: true });
      failure = { detail: `unreachable (${networkCode(thrown)})`, reason: "Unreachable", retryable: true };
    }
    if (!failure.retryable || attempt >= request.retry.attempts) {
      const { detail, ...options } = failure;
      throw new AlertDeliveryError(request.receiver, `${detail} after ${String(attempt)} attempt${attempt === 1 ? "" : "s"}`, options);
    }
    await request.sleep(backoffDelay(request.retry, attempt), request.signal);
  }
}

async function postOnce(request: PostRequest): Promise<number> {
  // One controller per request, its listener on the caller's signal removed afterwards: the notifier's
  // signal lives as long as the daemon and must not collect a listener per request.
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException("timed out", "TimeoutError"));
  }, request.retry.timeoutMs);
  const cancel = (): void => {
    controller.abort(request.signal?.reason);
  };
  request.signal?.addEventListener("abort", cancel, { once: true });
  try {
    const response = await fetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "bosun", ...request.headers },
      body: request.body,
      redirect: "manual",
      signal: controller.signal,
    });
    // The answer's body is drained and dropped: a receiver's error page may quote the request back.
    await response.arrayBuffer().catch(() => undefined);
    return response.status;
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", cancel);
  }
}

/**
 * A network error's code (ECONNREFUSED, a timeout…) and nothing else of it: undici's messages and causes
 * can carry the host and path, and the path of an incoming-webhook URL is its secret.
 */
function networkCode(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timed out";
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  return code !== undefined && /^[A-Z_]+$/.test(code) ? code : "network error";
}
