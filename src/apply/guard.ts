/**
 * The guard of one cluster's run: one AbortSignal that aborts when the run's lock is lost or the process
 * is told to stop (SIGTERM), and a write fence bound to the lock. Every `KubeRest` the run writes through
 * is derived from it (`guard.guard(rest)`), so the signal reaches every request, every wait and every
 * helm or kustomize process, and a lost lock refuses the NEXT write — not only the next step
 * (ARCHITECTURE: "a run that loses its lock sends no write after").
 */
import { BosunError } from "../errors.js";
import type { KubeRest } from "../kube/rest.js";
import type { ClusterLock } from "./lock.js";

/** One cluster run's stop signal and write fence. */
export class RunGuard {
  private readonly controller = new AbortController();
  private lock: Pick<ClusterLock, "lost" | "fence"> | undefined;

  /** `parent` (the process's SIGTERM signal) aborts the run too, with its reason. */
  constructor(parent?: AbortSignal) {
    if (parent?.aborted) this.controller.abort(parent.reason);
    else parent?.addEventListener("abort", () => { this.controller.abort(parent.reason); }, { once: true });
  }

  /** Aborted when the lock is lost (reason: its `LockLostError`) or the parent aborted. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ties the run to its lock: losing it aborts the signal, and writes wait out its renewals. */
  bind(lock: Pick<ClusterLock, "lost" | "fence">): void {
    this.lock = lock;
    if (lock.lost.aborted) this.controller.abort(lock.lost.reason);
    else lock.lost.addEventListener("abort", () => { this.controller.abort(lock.lost.reason); }, { once: true });
  }

  /** Awaited before each write: a renewal in flight may be about to find the lock taken. */
  readonly beforeWrite = async (): Promise<void> => {
    await this.lock?.fence();
  };

  /** A client for `rest`'s cluster whose requests carry this guard's signal and fence. */
  guard(rest: KubeRest): KubeRest {
    return rest.derive({ signal: this.signal, beforeWrite: this.beforeWrite });
  }
}

/** The process was told to stop (SIGTERM): the run's next request is refused with this. */
export class RunStoppedError extends BosunError {
  constructor(signal: string) {
    super(`stopped: bosun received ${signal}; no further change was sent (the next apply resumes from the journal)`, { reason: "ApplyFailed", retryable: true });
  }
}
