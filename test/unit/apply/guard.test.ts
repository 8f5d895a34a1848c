/** The run guard: one signal for a cluster run, aborted by a lost lock or the parent (SIGTERM), and a write fence. */
import { describe, expect, it } from "vitest";
import { RunGuard, RunStoppedError } from "../../../src/apply/guard.js";
import { LockLostError } from "../../../src/apply/lease.js";

function fakeLock(): { lost: AbortSignal; lose: (why: string) => void; fence: () => Promise<void>; hold: () => () => void } {
  const controller = new AbortController();
  let inflight: Promise<void> | undefined;
  return {
    lost: controller.signal,
    lose: (why) => {
      controller.abort(new LockLostError("c", why));
    },
    fence: async () => {
      await inflight;
    },
    hold: () => {
      let release = (): void => undefined;
      inflight = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
  };
}

describe("RunGuard", () => {
  it("aborts with the lock's LockLostError when the lock is lost", () => {
    const guard = new RunGuard();
    const lock = fakeLock();
    guard.bind(lock);
    expect(guard.signal.aborted).toBe(false);
    lock.lose("x took it over");
    expect(guard.signal.aborted).toBe(true);
    expect(guard.signal.reason).toBeInstanceOf(LockLostError);
  });

  it("aborts with the parent's reason (SIGTERM), even when the parent aborted first", () => {
    const parent = new AbortController();
    parent.abort(new RunStoppedError("SIGTERM"));
    const guard = new RunGuard(parent.signal);
    expect(guard.signal.reason).toBeInstanceOf(RunStoppedError);
    expect((guard.signal.reason as Error).message).toMatch(/^stopped: bosun received SIGTERM/);
  });

  it("holds writes back while the lock renews, and lets them go after", async () => {
    const guard = new RunGuard();
    const lock = fakeLock();
    guard.bind(lock);
    const release = lock.hold();
    let passed = false;
    const write = guard.beforeWrite().then(() => {
      passed = true;
    });
    await Promise.resolve();
    expect(passed).toBe(false);
    release();
    await write;
    expect(passed).toBe(true);
  });
});
