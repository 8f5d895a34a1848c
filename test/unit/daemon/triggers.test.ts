import { describe, expect, it } from "vitest";
import { TriggerQueue, type WorkItem } from "../../../src/daemon/triggers.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("TriggerQueue", () => {
  it("runs one item at a time and coalesces requests made while one runs", async () => {
    const ran: WorkItem[] = [];
    const gate = deferred();
    let active = 0;
    let most = 0;
    const queue = new TriggerQueue({
      run: async (item) => {
        active += 1;
        most = Math.max(most, active);
        ran.push(item);
        if (ran.length === 1) await gate.promise;
        active -= 1;
      },
      onError: () => undefined,
    });
    queue.request("reconcile", "start");
    for (let i = 0; i < 5; i += 1) queue.request("reconcile", i % 2 === 0 ? "push" : "interval");
    queue.request("drift", "drift interval");
    expect(queue.depth()).toBe(2);
    gate.resolve();
    await queue.idle();
    expect(most).toBe(1);
    expect(ran.map((i) => i.kind)).toEqual(["reconcile", "reconcile", "drift"]);
    expect(ran[1]?.reasons).toEqual(["push", "interval"]);
  });

  it("goes on after an item fails", async () => {
    const errors: unknown[] = [];
    const ran: string[] = [];
    const queue = new TriggerQueue({
      run: async (item) => {
        ran.push(item.reasons[0] ?? "");
        if (item.reasons[0] === "bad") throw new Error("boom");
        await Promise.resolve();
      },
      onError: (_item, error) => errors.push(error),
    });
    queue.request("reconcile", "bad");
    queue.request("drift", "next");
    await queue.idle();
    expect(ran).toEqual(["bad", "next"]);
    expect(errors).toHaveLength(1);
  });

  it("keeps one timer per kind at the earliest requested time", async () => {
    const ran: string[][] = [];
    const queue = new TriggerQueue({ run: async (item) => { ran.push(item.reasons); await Promise.resolve(); }, onError: () => undefined });
    const soon = new Date(Date.now() + 80);
    queue.requestAt("reconcile", new Date(Date.now() + 60_000), "window opens");
    queue.requestAt("reconcile", soon, "soak ends");
    expect(queue.scheduled("reconcile")?.getTime()).toBe(soon.getTime());
    await new Promise((resolve) => setTimeout(resolve, 200));
    await queue.idle();
    expect(ran).toEqual([["window opens; soak ends"]]);
    await queue.close();
  });

  it("takes no work once closed", async () => {
    const ran: string[] = [];
    const queue = new TriggerQueue({ run: async (item) => { ran.push(item.kind); await Promise.resolve(); }, onError: () => undefined });
    await queue.close();
    queue.request("reconcile", "late");
    await queue.idle();
    expect(ran).toEqual([]);
  });
});
