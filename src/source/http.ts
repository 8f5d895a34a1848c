/**
 * isomorphic-git's Node HTTP client behind a deadline and a byte budget. isomorphic-git has no timeout of
 * its own and holds a whole packfile in memory, so a silent or hostile server could hang bosun or exhaust
 * its memory. The deadline covers every request and every chunk of every response body: its node client
 * drops a stream error that arrives while nobody is waiting for a chunk, so aborting the socket alone could
 * leave a read pending forever — racing each read against the deadline cannot.
 */
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import gitHttp from "isomorphic-git/http/node";
import { GitTimeoutError, TransferLimitError } from "./errors.js";

/** Limits for one conversation with a Git server. */
export interface TransferLimits {
  /** Milliseconds from now until every request must have finished. */
  timeoutMs: number;
  /** Bytes of response bodies accepted in total. */
  maxBytes: number;
}

/** An HTTP client for isomorphic-git, and a way to stop its timer when the conversation is over. */
export interface BoundedHttp {
  http: HttpClient;
  /**
   * The failure (deadline, size, connection) that cut a response short, if any. isomorphic-git's pkt-line reader
   * swallows errors thrown while it reads a body and treats them as the end of the stream (a cut-off ref
   * advertisement reads as "no refs"), so the caller must check this even when isomorphic-git succeeded.
   */
  failure: () => Error | undefined;
  /** Ends the deadline; requests after this fail. Call it in a finally. */
  close: () => void;
}

/** Returns an HTTP client that fails every request and read once `limits` are exceeded. */
export function boundedHttp(limits: TransferLimits): BoundedHttp {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new GitTimeoutError(limits.timeoutMs));
  }, limits.timeoutMs);
  // The deadline must not keep a finished bosun process alive.
  timer.unref();
  const { signal } = controller;
  let received = 0;
  let failure: Error | undefined;
  const fail = (error: Error): Error => {
    failure ??= error;
    return error;
  };

  async function* guarded(body: AsyncIterableIterator<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for (;;) {
        // Any failure mid-body (deadline, reset connection) is recorded: isomorphic-git may swallow it.
        const next = await raceAbort(body.next(), signal).catch((error: unknown) => {
          throw fail(signal.aborted ? reasonOf(signal) : error instanceof Error ? error : new Error(String(error)));
        });
        if (next.done === true) return;
        received += next.value.byteLength;
        if (received > limits.maxBytes) throw fail(new TransferLimitError(limits.maxBytes));
        yield next.value;
      }
    } finally {
      // Releases the socket when isomorphic-git stops reading early or a limit is hit.
      await body.return?.();
    }
  }

  const http: HttpClient = {
    request: async (request: GitHttpRequest): Promise<GitHttpResponse> => {
      // After a cut-off response isomorphic-git may carry on with what it misread; nothing more goes out.
      if (failure !== undefined) throw failure;
      if (signal.aborted) throw fail(reasonOf(signal));
      const response = await raceAbort(gitHttp.request({ ...request, signal }), signal).catch((error: unknown) => {
        throw signal.aborted ? fail(reasonOf(signal)) : error;
      });
      return response.body === undefined ? response : { ...response, body: guarded(response.body) };
    },
  };
  return {
    http,
    failure: () => failure,
    close: () => {
      clearTimeout(timer);
      controller.abort(new Error("the Git conversation is over"));
    },
  };
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The loser's rejection (the aborted socket) must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    return Promise.reject(reasonOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(reasonOf(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}
