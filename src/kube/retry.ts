/**
 * Riding out a cluster that stops answering for a while. An upgrade restarts API servers by design (a
 * control-plane node's static pods are replaced) and a real network drops connections; a long-running
 * operation must wait and try again rather than fail half-way. Reads are always safe to repeat; callers
 * only wrap writes that are idempotent (patches, creates that tolerate "already exists").
 */
import { BosunError } from "../errors.js";
import { abortableSleep } from "../poll.js";
import { KubeApiError, UnreachableError } from "./rest.js";

/** How long a cluster may stay unreachable before the operation gives up. */
export const DEFAULT_OUTAGE_MS = 5 * 60_000;

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Gives up once the cluster has been unreachable this long without a single success in between. */
  outageMs?: number;
  /** Stops waiting (the run is stopping). */
  signal?: AbortSignal;
  /** Called once per failed attempt that will be retried. */
  onRetry?: (error: BosunError, delayMs: number) => void;
  /** Replaces the clock and the sleep (tests). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Whether an error is a passing condition worth retrying: unreachable, 5xx, 429. */
export function isTransient(error: unknown): error is BosunError {
  if (error instanceof UnreachableError) return true;
  return error instanceof KubeApiError && (error.status >= 500 || error.status === 429);
}

/**
 * Runs `operation`, retrying transient failures with exponential backoff (0.5 s doubling to 10 s) until
 * `outageMs` passed since the first failure of the current streak. Anything else is thrown at once.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const outageMs = options.outageMs ?? DEFAULT_OUTAGE_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  let since: number | undefined;
  let delay = 500;
  for (;;) {
    // Nothing more is sent once the caller stopped (a lost lock must stop writes, not only waits).
    options.signal?.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error) || options.signal?.aborted) throw error;
      since ??= now();
      if (now() - since >= outageMs) throw error;
      options.onRetry?.(error, delay);
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the one sleep lives in `src/poll.ts`). */
export { abortableSleep } from "../poll.js";
