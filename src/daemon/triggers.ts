/**
 * The daemon's one work queue. Every reason to act — the interval tick, a push webhook, an approval, a
 * window opening, the drift interval — asks for a kind of work; the queue runs one item at a time, so no
 * two applies of one cluster ever overlap in this process, and coalesces: while an item runs, any number
 * of requests of one kind leave at most one more of that kind queued (its reasons joined). A failed item
 * is reported and the queue goes on.
 *
 * Timed requests (`at`) are computed by the loop (a window's next opening, a soak's end, a retry's
 * backoff) and kept as one timer per kind at the earliest requested time: nothing polls.
 */

/** What the queue runs: a reconcile of the target revision, or a drift check. */
export type WorkKind = "reconcile" | "drift";

/** One queued item, with every reason it was asked for since it was queued. */
export interface WorkItem {
  kind: WorkKind;
  reasons: string[];
}

/** How the queue reports. */
export interface TriggerQueueOptions {
  run: (item: WorkItem) => Promise<void>;
  /** An item threw: the queue goes on. */
  onError: (item: WorkItem, error: unknown) => void;
  /** The number of queued items changed. */
  onDepth?: (depth: number) => void;
  now?: () => number;
}

/** A serial, coalescing work queue with timed requests. */
export class TriggerQueue {
  private readonly queued: WorkItem[] = [];
  private running: Promise<void> | null = null;
  private readonly timers = new Map<WorkKind, { at: number; timer: NodeJS.Timeout; reasons: string[] }>();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: TriggerQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Asks for `kind` now. Ignored once the queue is closed. */
  request(kind: WorkKind, reason: string): void {
    if (this.closed) return;
    const waiting = this.queued.find((item) => item.kind === kind);
    if (waiting) {
      if (!waiting.reasons.includes(reason)) waiting.reasons.push(reason);
    } else {
      this.queued.push({ kind, reasons: [reason] });
      this.options.onDepth?.(this.queued.length);
    }
    this.pump();
  }

  /**
   * Asks for `kind` at `at` (a Date); an earlier request of the same kind keeps its time, a later one is
   * folded into it (the work item re-evaluates everything it covers).
   */
  requestAt(kind: WorkKind, at: Date, reason: string): void {
    if (this.closed) return;
    const when = at.getTime();
    if (when <= this.now()) {
      this.request(kind, reason);
      return;
    }
    const existing = this.timers.get(kind);
    if (existing && existing.at <= when) {
      if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
      return;
    }
    const reasons = existing ? [...existing.reasons, reason] : [reason];
    if (existing) clearTimeout(existing.timer);
    // setTimeout's limit is about 24.8 days; a later time is re-armed when the timer fires early.
    const delay = Math.min(when - this.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers.delete(kind);
      if (this.now() + 50 < when) {
        for (const r of reasons) this.requestAt(kind, new Date(when), r);
        return;
      }
      this.request(kind, reasons.join("; "));
    }, delay);
    timer.unref();
    this.timers.set(kind, { at: when, timer, reasons });
  }

  /** When a timed request of `kind` is due, if any. */
  scheduled(kind: WorkKind): Date | null {
    const timer = this.timers.get(kind);
    return timer ? new Date(timer.at) : null;
  }

  /** Items waiting behind the one running. */
  depth(): number {
    return this.queued.length;
  }

  /** Whether an item is running now. */
  busy(): boolean {
    return this.running !== null;
  }

  /** Stops taking work and drops what is queued; resolves when the running item ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queued.length = 0;
    this.options.onDepth?.(0);
    await this.running;
  }

  /** Resolves when nothing runs and nothing is queued (tests and the demo wait on it). */
  async idle(): Promise<void> {
    while (this.running !== null || this.queued.length > 0) await this.running;
  }

  private pump(): void {
    if (this.running !== null || this.closed) return;
    const item = this.queued.shift();
    if (!item) return;
    this.options.onDepth?.(this.queued.length);
    this.running = (async () => {
      try {
        await this.options.run(item);
      } catch (error) {
        this.options.onError(item, error);
      } finally {
        this.running = null;
        this.pump();
      }
    })();
  }
}
