/** pollUntil: the deadline fires, an abort stops the wait at once, the backoff grows — on a fake clock. */
import { describe, expect, it } from "vitest";
import { pollUntil, type PollResult } from "../../../src/poll.js";
import { fakeClock as startClock } from "../../support/fake-clock.js";

/** The poll tests' clock starts at 1 s, so a deadline of 0 is in the past. */
const fakeClock = (): ReturnType<typeof startClock> => startClock(1_000);

const never = (): Promise<PollResult<never>> => Promise.resolve({ done: false, pending: "still waiting" });

describe("pollUntil", () => {
  it("returns the value of the first check that is done", async () => {
    const clock = fakeClock();
    let calls = 0;
    const value = await pollUntil(() => Promise.resolve(++calls < 3 ? { done: false } : { done: true, value: "ready" }), {
      deadline: clock.now() + 60_000,
      onTimeout: () => new Error("timeout"),
      ...clock,
    });
    expect(value).toBe("ready");
    expect(calls).toBe(3);
  });

  it("throws onTimeout with the last pending reason once the deadline passed, never sleeping past it", async () => {
    const clock = fakeClock();
    const deadline = clock.now() + 1_000;
    const error = await pollUntil(never, { deadline, backoff: { initialMs: 300, maxMs: 300 }, onTimeout: (pending) => new Error(`gave up: ${pending}`), ...clock }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("gave up: still waiting");
    expect(clock.slept).toEqual([300, 300, 300, 100]);
    expect(clock.now()).toBe(deadline);
  });

  it("grows the wait by the factor up to the cap", async () => {
    const clock = fakeClock();
    await pollUntil(never, { deadline: clock.now() + 10_000, backoff: { initialMs: 100, maxMs: 1_000, factor: 3 }, onTimeout: () => new Error("t"), ...clock }).catch(() => undefined);
    expect(clock.slept.slice(0, 5)).toEqual([100, 300, 900, 1_000, 1_000]);
  });

  it("stops at once with the signal's reason when aborted during a wait, without another check", async () => {
    const controller = new AbortController();
    let calls = 0;
    const reason = new Error("lock lost");
    const error = await pollUntil(
      () => {
        calls += 1;
        return Promise.resolve({ done: false });
      },
      {
        // No deadline: only the abort can end this wait.
        onTimeout: () => new Error("timeout"),
        sleep: (_ms, signal) => {
          controller.abort(reason);
          expect(signal?.aborted).toBe(true);
          return Promise.resolve();
        },
        signal: controller.signal,
      },
    ).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(calls).toBe(1);
  });

  it("does not check at all when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stopping"));
    let calls = 0;
    await expect(pollUntil(() => Promise.resolve({ done: (calls += 1) > 0, value: 1 }), { signal: controller.signal, onTimeout: () => new Error("t") })).rejects.toThrow("stopping");
    expect(calls).toBe(0);
  });

  it("wakes the real sleep early on abort (no wall-clock wait)", async () => {
    const controller = new AbortController();
    const wait = pollUntil(never, { backoff: { initialMs: 3_600_000, maxMs: 3_600_000 }, signal: controller.signal, onTimeout: () => new Error("t") });
    controller.abort(new Error("SIGTERM"));
    await expect(wait).rejects.toThrow("SIGTERM");
  });
});
