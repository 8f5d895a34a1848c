/**
 * The one wait helper: `pollUntil(check, {deadline, signal, backoff})`. Every place bosun waits for
 * something to become true — a Job to finish, a node to drain, a CRD to be established, a helm release to
 * settle, a workload to be ready, a lock directory to free up — goes through it, so every wait has a
 * deadline, can be cancelled (a lost lock or SIGTERM stops it at once, not at its next tick) and backs off
 * the same way.
 *
 * Why the clock and the sleep are injectable: tests prove "the deadline fired" and "the abort stopped it"
 * without measuring wall time, which flakes on a loaded machine.
 */

/**
 * The result of one check: done with a value, or not yet — optionally saying what is still pending, and
 * whether it moved since the last check (`progressed`: the wait starts again from the shortest pause, so
 * a rollout that moves is watched closely).
 */
export type PollResult<T> = { done: true; value: T } | { done: false; pending?: string; progressed?: boolean };

/** How the wait between checks grows: starts at `initialMs`, times `factor` after each check, capped at `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** Defaults to 2. */
  factor?: number;
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** When to give up, in milliseconds of `now()`; omit for no deadline (the signal must then end the wait). */
  deadline?: number;
  /** Stops the wait at once, with the signal's reason. */
  signal?: AbortSignal;
  /** Defaults to 200 ms doubling to 2 s. */
  backoff?: Backoff;
  /** Builds the error thrown when the deadline passes; `pending` is the last check's. */
  onTimeout: (pending: string | undefined) => Error;
  /** Replaces the clock (tests). */
  now?: () => number;
  /** Replaces the sleep (tests); must resolve early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Default backoff of {@link pollUntil}. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 2_000, factor: 2 };

/**
 * Calls `check` until it reports done and returns its value. Between checks it sleeps (backing off, never
 * past the deadline). Throws `onTimeout(pending)` once the deadline passed with the check still not done
 * (the check runs at least once, and once more at the deadline), and the signal's reason as soon as it
 * aborts. Errors thrown by `check` propagate unchanged: retrying them is `withRetry`'s job.
 */
export async function pollUntil<T>(check: () => Promise<PollResult<T>>, options: PollOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const factor = backoff.factor ?? 2;
  let delay = backoff.initialMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await check();
    if (result.done) return result.value;
    options.signal?.throwIfAborted();
    const left = options.deadline === undefined ? delay : options.deadline - now();
    if (left <= 0) throw options.onTimeout(result.pending);
    if (result.progressed === true) delay = backoff.initialMs;
    await sleep(Math.min(delay, left), options.signal);
    delay = Math.min(backoff.maxMs, Math.round(delay * factor));
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then checks the signal). */
export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
