/**
 * Helpers for the errors `@kubernetes/client-node` throws: its ApiException carries the HTTP status as
 * `code`, which is what bosun decides on (never the message text).
 */

/** The HTTP status of an error thrown by `@kubernetes/client-node`, if it has one. */
export function httpStatus(error: unknown): number | undefined {
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
 * `attempts` times. `update` must re-read the object each time.
 */
export async function retryOnConflict<T>(update: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await update();
    } catch (error) {
      if (httpStatus(error) !== 409 || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}
