/**
 * The pure half of the cluster lock (`lock.ts`): the Lease `bosun-system/bosun-lock` as data — whether it
 * can be taken at a given moment, when it expires, the Lease a taker writes, and the errors and messages
 * about it. No I/O and no clock: every moment is a parameter.
 *
 * `@kubernetes/client-node` 1.3 quirk: Lease times are `MicroTime`, which the API server only accepts with
 * exactly six fractional digits. The client serialises a `V1MicroTime` that way but a plain `Date` with
 * three (the server answers 400), and it does not deserialise `MicroTime` at all — a Lease read back
 * carries its times as strings despite the declared `V1MicroTime` type. Hence {@link microTime} for
 * writing and {@link leaseTime} for reading.
 */
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { BOSUN_NAMESPACE, MANAGED_BY_BOSUN } from "../constants.js";
import { GROUPS, identity } from "../identity.js";
import { BosunError } from "../errors.js";

/** Name of the lock Lease in `bosun-system`. */
export const LOCK_NAME = "bosun-lock";

/** Attempts at acquiring (and releasing) before giving up on a Lease that changes under every attempt. */
export const ACQUIRE_ATTEMPTS = 5;

/** The API path of `bosun-system`'s Leases. */
export const LEASES_PATH = `/apis/coordination.k8s.io/v1/namespaces/${BOSUN_NAMESPACE}/leases`;
/** The API path of the lock Lease. */
export const LEASE_PATH = `${LEASES_PATH}/${LOCK_NAME}`;

/** Another run holds the cluster's lock and its lease has not expired. Retryable: it frees up. */
export class ClusterLockedError extends BosunError {
  readonly cluster: string;
  /** The holder's identity as written in the Lease. */
  readonly holder: string;
  /** When the holder acquired the lock, if the Lease says. */
  readonly since: Date | undefined;
  /** When the lock expires unless renewed. */
  readonly until: Date;
  constructor(cluster: string, holder: string, since: Date | undefined, until: Date) {
    super(lockedMessage(cluster, holder, since, until), { reason: "Locked", identity: lockIdentity(cluster), retryable: true });
    this.cluster = cluster;
    this.holder = holder;
    this.since = since;
    this.until = until;
  }
}

/** This run no longer holds the cluster's lock: the executor must stop. */
export class LockLostError extends BosunError {
  readonly cluster: string;
  constructor(cluster: string, why: string) {
    super(`cluster ${cluster}: lost the lock ${BOSUN_NAMESPACE}/${LOCK_NAME}: ${why}; stopping so that two applies never change the cluster at once`, {
      reason: "Locked",
      identity: lockIdentity(cluster),
      retryable: true,
    });
    this.cluster = cluster;
  }
}

/** The identity string of a cluster's lock Lease (ARCHITECTURE invariant 4). */
export function lockIdentity(cluster: string): string {
  return identity({ cluster, group: GROUPS.coordination, kind: "Lease", namespace: BOSUN_NAMESPACE, name: LOCK_NAME });
}

/**
 * The message a second apply gets. Pure. Times are UTC, to the second, so people in different time zones
 * (and CI logs) read the same thing.
 */
export function lockedMessage(cluster: string, holder: string, since: Date | undefined, until: Date): string {
  const sinceText = since === undefined ? "" : ` since ${formatUtc(since)}`;
  return `cluster ${cluster} is locked by ${holder}${sinceText} (lease valid until ${formatUtc(until)}): another apply is running; it expires if that process died`;
}

/** `2025-06-01 12:03:10 UTC`. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A Lease time as a Date: `@kubernetes/client-node` 1.3 hands MicroTime fields back as strings (see the
 * module comment), a Date when built locally. Undefined when absent or unparsable.
 */
export function leaseTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== "string") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A time the API server accepts as MicroTime (six fractional digits when serialised). */
export function microTime(date: Date): V1MicroTime {
  return new V1MicroTime(date.getTime());
}

/** Whether a Lease can be taken, as judged at `now`. */
export type LeaseStatus =
  | { kind: "free" }
  | { kind: "ours" }
  | { kind: "expired"; holder: string; until: Date }
  | { kind: "held"; holder: string; since: Date | undefined; until: Date };

/**
 * Judges a Lease at `now`. Pure. Free when it has no holder; expired when its last renewal (or, failing
 * that, its acquisition) plus its duration is not after `now`. A Lease with a holder but no time or no
 * duration cannot prove it is alive, so it counts as expired at the epoch.
 */
export function leaseStatus(spec: V1LeaseSpec | undefined, holder: string, now: Date): LeaseStatus {
  const current = spec?.holderIdentity ?? "";
  if (current === "") return { kind: "free" };
  if (current === holder) return { kind: "ours" };
  const until = leaseExpiry(spec);
  if (until === undefined || until.getTime() <= now.getTime()) return { kind: "expired", holder: current, until: until ?? new Date(0) };
  return { kind: "held", holder: current, since: leaseTime(spec?.acquireTime), until };
}

/** When a Lease expires unless renewed: `renewTime` (else `acquireTime`) + `leaseDurationSeconds`. Pure. */
export function leaseExpiry(spec: V1LeaseSpec | undefined): Date | undefined {
  const last = leaseTime(spec?.renewTime) ?? leaseTime(spec?.acquireTime);
  const seconds = spec?.leaseDurationSeconds;
  if (last === undefined || seconds === undefined || seconds <= 0) return undefined;
  return new Date(last.getTime() + seconds * 1000);
}

/** The Lease a first taker creates; `annotations` carry its process token. */
export function newLease(holder: string, leaseSeconds: number, at: Date, annotations: Record<string, string>): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: LOCK_NAME, namespace: BOSUN_NAMESPACE, labels: { ...MANAGED_BY_BOSUN }, annotations },
    spec: { holderIdentity: holder, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(at), renewTime: microTime(at), leaseTransitions: 0 },
  };
}

/** The spec of a Lease being taken over; fields bosun does not use (strategy, preferredHolder) are kept. */
export function takeSpec(previous: V1LeaseSpec | undefined, holder: string, leaseSeconds: number, at: Date, transition: boolean): V1LeaseSpec {
  const spec: V1LeaseSpec = {
    holderIdentity: holder,
    leaseDurationSeconds: leaseSeconds,
    acquireTime: transition ? microTime(at) : (previous?.acquireTime ?? microTime(at)),
    renewTime: microTime(at),
    leaseTransitions: (previous?.leaseTransitions ?? 0) + (transition ? 1 : 0),
  };
  if (previous?.strategy !== undefined) spec.strategy = previous.strategy;
  if (previous?.preferredHolder !== undefined) spec.preferredHolder = previous.preferredHolder;
  return spec;
}
