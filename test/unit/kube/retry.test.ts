/** Retrying through a cluster outage: transient errors wait with backoff, others fail at once. */
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { KubeApiError, UnreachableError } from "../../../src/kube/rest.js";
import { isTransient, withRetry } from "../../../src/kube/retry.js";
import { fakeClock as clock } from "../../support/fake-clock.js";


describe("withRetry", () => {
  it("retries an unreachable cluster with doubling delays until it answers", async () => {
    const c = clock();
    let calls = 0;
    const value = await withRetry(() => {
      calls += 1;
      if (calls < 4) return Promise.reject(new UnreachableError("x", "connection refused"));
      return Promise.resolve("ok");
    }, { now: c.now, sleep: c.sleep });
    expect(value).toBe("ok");
    expect(c.slept).toEqual([500, 1000, 2000]);
  });

  it("gives up once the outage lasted outageMs", async () => {
    const c = clock();
    await expect(withRetry(() => Promise.reject(new KubeApiError("boom", 503, undefined)), { now: c.now, sleep: c.sleep, outageMs: 20_000 })).rejects.toThrow("boom");
    expect(c.slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(20_000);
    expect(Math.max(...c.slept)).toBe(10_000);
  });

  it("does not retry errors that are not transient", async () => {
    const c = clock();
    await expect(withRetry(() => Promise.reject(new KubeApiError("conflict", 409, "Conflict")), { now: c.now, sleep: c.sleep })).rejects.toThrow("conflict");
    await expect(withRetry(() => Promise.reject(new InvalidInputError("bad")), { now: c.now, sleep: c.sleep })).rejects.toThrow("bad");
    expect(c.slept).toEqual([]);
  });

  it("classifies 5xx, 429 and unreachable as transient", () => {
    expect(isTransient(new KubeApiError("x", 500, undefined))).toBe(true);
    expect(isTransient(new KubeApiError("x", 429, "TooManyRequests"))).toBe(true);
    expect(isTransient(new KubeApiError("x", 404, "NotFound"))).toBe(false);
    expect(isTransient(new UnreachableError("c", "refused"))).toBe(true);
    expect(isTransient(new Error("x"))).toBe(false);
  });
});
