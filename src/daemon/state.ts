/**
 * What the daemon remembers across restarts (issue: state that survives restarts): per cluster the
 * revision it converged at, its drift and its last attempt; fleet-wide the approvals of manual waves, the
 * pauses and the halts. Stored as small JSON documents under keys in a {@link StateStore}: a local
 * directory on one machine, ConfigMaps in a state cluster when replicas share the fleet.
 *
 * Each cluster's document is written only by the replica that owns the cluster (its shard); the fleet
 * document is shared, so it is changed by compare-and-swap ({@link updateState}).
 */
import { BosunError } from "../errors.js";

/** The format of every state document; a document of another format is refused, never guessed at. */
export const STATE_FORMAT = 1;

/** A cluster's drift: the plan at the current revision is not empty although the cluster had converged. */
export interface DriftRecord {
  revision: string;
  /** Hash of the drifted steps: the same drift keeps its fingerprint across ticks and restarts. */
  fingerprint: string;
  detectedAt: string;
  /** Steps that would revert it. */
  steps: number;
  /** What drifted, masked (the plan's diffs; secret data never appears). */
  diff: string;
  /** When the daemon last applied the plan that reverts it (`drift.correct`). */
  correctedAt?: string;
}

/** The last time the daemon ran a cluster's steps. */
export interface AttemptRecord {
  revision: string;
  at: string;
  /** The apply engine's outcome (converged, failed, unreachable, deferred, halted, in-sync). */
  outcome: string;
  reason?: string;
  steps?: number;
}

/** One cluster's document. */
export interface ClusterState {
  format: typeof STATE_FORMAT;
  name: string;
  /** The revision every step of the cluster's plan was applied at (or that found it in sync). */
  convergedRevision: string | null;
  convergedAt: string | null;
  /** When steps last ran to the end (not only an in-sync check). */
  lastAppliedAt: string | null;
  lastAttempt: AttemptRecord | null;
  /** Present while the cluster drifts; cleared when a plan is empty again. */
  drift: DriftRecord | null;
  /** The previous drift, kept once it resolved (for the status page and drift-resolved alerts). */
  resolvedDrift: (DriftRecord & { resolvedAt: string }) | null;
}

/** An approval of one revision for one manual wave. */
export interface Approval {
  wave: string;
  revision: string;
  /** Who approved: the API token's name and the `by` the client gave. */
  by: string;
  at: string;
}

/** A pause of one cluster or one wave (from the API or the CLI; `rollout.paused` comes from Git). */
export interface Pause {
  scope: "cluster" | "wave";
  name: string;
  by: string;
  at: string;
  reason?: string;
}

/** A wave halted by a failed cluster at a revision: it stays halted until a new revision or a resume. */
export interface Halt {
  wave: string;
  revision: string;
  cause: string;
  at: string;
}

/** The shared fleet-wide document. */
export interface FleetState {
  format: typeof STATE_FORMAT;
  approvals: Approval[];
  pauses: Pause[];
  halts: Halt[];
  /** The last revision that loaded without errors: what the daemon reconciles to. */
  lastGoodRevision: string | null;
}

/** A stored document with the version the next write must name. */
export interface Versioned<T> {
  value: T;
  version: string;
}

/** A write lost a race: the document changed since it was read. Read it again and retry. */
export class StateConflictError extends BosunError {
  constructor(key: string) {
    super(`state ${key} was changed by another writer; read it again`, { reason: "StateConflict", retryable: true });
  }
}

/** Where state documents live. Keys are DNS-1123 labels (`fleet`, `cluster-<name>`). */
export interface StateStore {
  /** Human-readable location for logs and the status page (`directory /var/lib/bosun`, `ConfigMaps in bosun-system of context state`). */
  readonly description: string;
  /** The document under `key`, or null when none was written yet. */
  read(key: string): Promise<Versioned<unknown> | null>;
  /**
   * Writes `value` under `key` when the stored version is still `version` (null: must not exist yet);
   * returns the new version. Throws {@link StateConflictError} when it is not.
   */
  write(key: string, value: unknown, version: string | null): Promise<string>;
}

/** The key of a cluster's document. */
export function clusterKey(name: string): string {
  return `cluster-${name}`;
}

/** The key of the fleet-wide document. */
export const FLEET_KEY = "fleet";

/** A cluster's document as the daemon starts it: nothing converged, nothing drifted. */
export function emptyClusterState(name: string): ClusterState {
  return { format: STATE_FORMAT, name, convergedRevision: null, convergedAt: null, lastAppliedAt: null, lastAttempt: null, drift: null, resolvedDrift: null };
}

/** The fleet document before anything was approved, paused or halted. */
export function emptyFleetState(): FleetState {
  return { format: STATE_FORMAT, approvals: [], pauses: [], halts: [], lastGoodRevision: null };
}

/** A stored document of another format or shape: refused with the key, never half-read. */
export class StateFormatError extends BosunError {
  constructor(key: string, problem: string) {
    super(`state ${key}: ${problem}`, { reason: "InvalidState" });
  }
}

/** Checks a stored value's format; the rest of its shape is the daemon's own writing. */
export function checkFormat(key: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new StateFormatError(key, "not a JSON object");
  const format = (value as { format?: unknown }).format;
  if (format !== STATE_FORMAT) throw new StateFormatError(key, `format ${JSON.stringify(format)}, this bosun reads format ${STATE_FORMAT}`);
}

/**
 * Reads `key`, applies `change` and writes the result, reading again and re-applying on a conflict (another
 * replica wrote in between). `change` must be a pure function of the document it is given.
 */
export async function updateState<T extends { format: number }>(store: StateStore, key: string, initial: () => T, change: (current: T) => T, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await store.read(key);
    if (current !== null) checkFormat(key, current.value);
    const value = current === null ? initial() : (current.value as T);
    const next = change(structuredClone(value));
    try {
      await store.write(key, next, current?.version ?? null);
      return next;
    } catch (error) {
      if (!(error instanceof StateConflictError) || attempt >= attempts) throw error;
    }
  }
}

/** Reads `key` as a document of type T, or `initial()` when none was written. */
export async function readState<T extends { format: number }>(store: StateStore, key: string, initial: () => T): Promise<T> {
  const current = await store.read(key);
  if (current === null) return initial();
  checkFormat(key, current.value);
  return current.value as T;
}
