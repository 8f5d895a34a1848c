/**
 * The one small interface every upgrade driver implements for `apply` (DESIGN section 2: `src/drivers/<name>/`
 * behind one interface). The executor (`src/apply/execute.ts`) owns the lock, the journal and the step
 * order; a driver owns how a version or topology step is carried out on its kind of cluster.
 */
import type { Step } from "../plan/types.js";

/** A step an upgrade driver executes. */
export type UpgradeStep = Extract<Step, { kind: "backup.snapshot" | "controlPlane.upgrade" | "workers.upgrade" | "topology.scale" }>;

/** Facilities the run gives an upgrade driver. */
export interface UpgradeSession {
  /** Aborts when the run must stop at once (its lock was lost). */
  signal: AbortSignal;
  /** Records sub-step progress (a node) in the journal. */
  record: (id: string, state: "started" | "succeeded" | "failed", detail?: string) => Promise<void>;
}

/** One cluster's upgrade driver, as the executor sees it. */
export interface Upgrader {
  /** Checks the cluster may be upgraded now; the problem when not (the cluster is then deferred). */
  preflight(session: UpgradeSession): Promise<string | undefined>;
  /** Executes one step; returns a one-line description of what it did. */
  run(step: UpgradeStep, session: UpgradeSession): Promise<string>;
  /** The cluster's versions now, one line, for the summary. */
  versions(): Promise<string>;
}

/** The step kinds upgrade drivers execute. */
export const UPGRADE_STEP_KINDS: ReadonlySet<Step["kind"]> = new Set(["backup.snapshot", "controlPlane.upgrade", "workers.upgrade", "topology.scale"]);
