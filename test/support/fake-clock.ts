/** A clock for unit tests of waits and retries: it moves only when the code under test sleeps. */

/** The fake clock: `now()` in ms, a `sleep` that advances it at once, and every sleep recorded. */
export interface FakeClock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  slept: number[];
}

/** A clock starting at `start` ms. */
export function fakeClock(start = 0): FakeClock {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
    slept,
  };
}
