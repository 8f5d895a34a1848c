/**
 * The per-cluster lock `bosun apply` holds for its whole run: a coordination.k8s.io/v1 Lease
 * `bosun-system/bosun-lock` in the target cluster, so that two applies (two engineers, CI and the daemon)
 * never change one cluster at the same time, and the second one is told who holds it.
 *
 * Why a Lease in the target cluster rather than a lock on this machine: the processes that may collide run
 * on different machines; the cluster is the only place they all see. Why a Lease rather than any object:
 * it is the object Kubernetes itself uses for this (leader election), and its fields say who holds it,
 * since when and until when.
 *
 * Protocol — every write is a compare-and-swap on the Lease's resourceVersion, so of two processes racing
 * for the same Lease exactly one wins and the other sees a 409 and re-reads:
 * - acquire: create the Lease. On 409 read it: held by someone else and not expired
 *   (`renewTime + leaseDurationSeconds > now`) → {@link ClusterLockedError} naming the holder; expired or
 *   released → take it over with an update guarded by the resourceVersion just read (`leaseTransitions`
 *   + 1).
 * - renew: every `renewEverySeconds` (default a third of the lease), in the background, on an unref'd
 *   timer. A renewal that finds another holder, finds the Lease deleted, or cannot reach the cluster until
 *   the lease it last wrote has expired aborts `lost`, so the executor stops before a second apply starts.
 * - release: stop renewing, then delete the Lease with a precondition on its uid and resourceVersion — only
 *   while this run still holds it, so a late release never frees somebody else's lock.
 * - crashed holder: the Lease carries the holder's process token (`bosun.dev/holder-process`: boot id, pid
 *   namespace, pid, start time). A run on the same boot and pid namespace that finds that pid gone (or
 *   reused by a later process) takes the Lease over at once instead of waiting for it to expire; from
 *   anywhere else a held Lease is only taken after it expired.
 * - expiry: a run that could not renew stops just before its lease runs out (a timer, not the next
 *   renewal attempt).
 *
 * Every request goes through `KubeRest` (its deadline, its User-Agent `bosun`): a cluster that stops
 * answering makes acquire fail as unreachable and a renewal count as not renewed, instead of hanging the
 * run. While a renewal is in flight, {@link ClusterLock.fence} holds the run's writes back, so a write is
 * never sent while the renewal that would reveal a takeover is still out.
 *
 * Expiry compares the holder's `renewTime` (its clock) with the taker's clock, so the machines' clocks
 * must roughly agree (NTP); the lease duration should be far larger than any plausible skew.
 *
 * `@kubernetes/client-node` 1.3 quirk: Lease times are `MicroTime`, which the API server only accepts with
 * exactly six fractional digits. The client serialises a `V1MicroTime` that way but a plain `Date` with
 * three (the server answers 400), and it does not deserialise `MicroTime` at all — a Lease read back
 * carries its times as strings despite the declared `V1MicroTime` type. Hence {@link microTime} for
 * writing and {@link leaseTime} for reading.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import os from "node:os";
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";
import { BosunError, InvalidInputError } from "../errors.js";
import { BOSUN_NAMESPACE, ensureBosunNamespace } from "../kube/system.js";
import { httpStatus, kubeFailure } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";

/** The translator of HTTP failures lives in `src/kube/errors.ts`; re-exported for the lock's callers. */
export { kubeFailure };


/** Name of the lock Lease in `bosun-system`. */
export const LOCK_NAME = "bosun-lock";

const LEASES_PATH = `/apis/coordination.k8s.io/v1/namespaces/${BOSUN_NAMESPACE}/leases`;
const LEASE_PATH = `${LEASES_PATH}/${LOCK_NAME}`;

/** Attempts at acquiring before giving up on a Lease that changes under every attempt. */
const ACQUIRE_ATTEMPTS = 5;

/** How to acquire a cluster's lock. */
export interface ClusterLockOptions {
  /** The cluster's name, for messages and identities. */
  cluster: string;
  /** Who is taking the lock, from {@link holderIdentity}. */
  holder: string;
  /** How long the lock stays valid without renewal (whole seconds, at least 1): how long a crashed run blocks others. */
  leaseSeconds: number;
  /** How often it is renewed; a third of `leaseSeconds` by default, so two renewals may fail before it expires. */
  renewEverySeconds?: number;
  /** The clock (tests move it); the real one by default. */
  now?: () => Date;
}

/** A held cluster lock. */
export interface ClusterLock {
  /** The identity this run holds the lock under. */
  readonly holder: string;
  /**
   * Aborted when the lock is lost — another process took it over, someone deleted it, or it could not be
   * renewed before it expired. Its `reason` is a {@link LockLostError}. The executor must stop acting on
   * the cluster when it fires.
   */
  readonly lost: AbortSignal;
  /** Stops renewing and deletes the Lease if this run still holds it. Safe to call more than once. */
  release(): Promise<void>;
  /**
   * Resolves once no renewal is in flight. The run's writes await it (`KubeRest`'s `beforeWrite`), so none
   * is sent while a renewal may be finding that another process took the lock; they then check `lost`.
   */
  fence(): Promise<void>;
}

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

/** A random id for one apply run, shared by its lock holder identity and its journal entries. */
export function newRunId(): string {
  return randomBytes(6).toString("hex");
}

/**
 * The identity a run holds locks under: `bosun@<hostname>/pid <pid>/<run id>`. Host and pid tell a person
 * where to look for the other run; the random run id keeps two runs distinct even when a pid is reused or
 * two containers share a hostname.
 */
export function holderIdentity(runId: string, host: string = os.hostname(), pid: number = process.pid): string {
  return `bosun@${host}/pid ${pid}/${runId}`;
}

/** Annotation on the lock Lease identifying the holder's process beyond its hostname and pid. */
export const HOLDER_PROCESS_ANNOTATION = "bosun.dev/holder-process";

/**
 * This process as `<boot id>/<pid namespace>/<pid>/<start time>`, from /proc; null where /proc does not
 * tell (not Linux). Two containers can share a hostname — and reuse each other's pids — but never a boot
 * id together with a pid namespace; the start time tells a reused pid from the holder.
 */
export function processToken(pid: number = process.pid): string | null {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = statSync("/proc/self/ns/pid").ino;
    const started = startTime(pid);
    return started === null ? null : `${boot}/${namespace}/${pid}/${started}`;
  } catch {
    return null;
  }
}

function startTime(pid: number): string | null {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count after its ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * True when the Lease's holder crashed on this machine: its `holderProcess` token names this boot and
 * this pid namespace, and that pid is gone or now belongs to a process started at another time.
 * Anything else — another machine or container, no token, a live holder — is presumed alive, and the
 * lease must expire before it is taken over.
 */
export function holderIsGone(holderProcess: string | undefined, self: string | null = processToken(), startOf: (pid: number) => string | null = startTime): boolean {
  if (!holderProcess || !self) return false;
  const [boot, namespace, pidText, started] = holderProcess.split("/");
  const [ourBoot, ourNamespace] = self.split("/");
  const pid = Number(pidText);
  if (boot !== ourBoot || namespace !== ourNamespace || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return startOf(pid) !== started;
}

/** The identity string of a cluster's lock Lease (ARCHITECTURE invariant 4). */
export function lockIdentity(cluster: string): string {
  return `${cluster}:Lease/${BOSUN_NAMESPACE}/${LOCK_NAME}`;
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

/**
 * Takes the cluster's lock or throws {@link ClusterLockedError} naming who holds it. Creates `bosun-system`
 * when missing. The returned lock renews itself until released; see the module comment for the protocol.
 */
export async function acquireClusterLock(rest: KubeRest, options: ClusterLockOptions): Promise<ClusterLock> {
  const { cluster, holder, leaseSeconds } = options;
  const renewEverySeconds = options.renewEverySeconds ?? leaseSeconds / 3;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1) {
    throw new InvalidInputError(`lock lease duration must be a whole number of seconds, at least 1 (got ${leaseSeconds})`);
  }
  if (!(renewEverySeconds > 0 && renewEverySeconds < leaseSeconds)) {
    // Renewing no more often than the lease lasts would let it expire between renewals.
    throw new InvalidInputError(`lock renewal interval must be positive and shorter than the lease (${leaseSeconds} s), got ${renewEverySeconds} s`);
  }
  const now = options.now ?? ((): Date => new Date());

  await ensureBosunNamespace(rest).catch((error: unknown) => {
    throw kubeFailure(cluster, `create namespace ${BOSUN_NAMESPACE}`, error);
  });

  for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt += 1) {
    const at = now();
    try {
      const created = await rest.create<V1Lease>(LEASES_PATH, newLease(holder, leaseSeconds, at), `create Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`);
      return startRenewing(rest, options, renewEverySeconds, now, created, at);
    } catch (error) {
      if (httpStatus(error) !== 409) throw kubeFailure(cluster, `create Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`, error);
    }
    const existing = await readLease(rest);
    if (existing === null) continue; // released between our create and our read: create again
    const status = leaseStatus(existing.spec, holder, at);
    // A holder on this machine whose process is gone crashed (SIGKILL, OOM, a reboot of the runner): its
    // lease would only block the run that resumes its work until it expires, so it is taken over now.
    if (status.kind === "held" && !holderIsGone(existing.metadata?.annotations?.[HOLDER_PROCESS_ANNOTATION])) {
      throw new ClusterLockedError(cluster, status.holder, status.since, status.until);
    }
    // Free, expired, or already ours (a re-acquire by the same run): take it, guarded by the
    // resourceVersion just read, so that of two takers only the first write lands.
    const previous = existing.spec?.holderIdentity ?? "";
    const spec = takeSpec(existing.spec, holder, leaseSeconds, at, previous !== holder);
    const metadata = existing.metadata ?? { name: LOCK_NAME };
    metadata.annotations = withHolderProcess(metadata.annotations);
    const body: V1Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata, spec };
    try {
      const taken = await rest.replace<V1Lease>(LEASE_PATH, body, `take over Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`);
      return startRenewing(rest, options, renewEverySeconds, now, taken, at);
    } catch (error) {
      // 409: another taker won; 404: deleted meanwhile. Either way look again: the next read names the winner.
      const code = httpStatus(error);
      if (code !== 409 && code !== 404) throw kubeFailure(cluster, `take over Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`, error);
    }
  }
  throw new BosunError(`cluster ${cluster}: could not take the lock ${BOSUN_NAMESPACE}/${LOCK_NAME}: it changed under each of ${ACQUIRE_ATTEMPTS} attempts; try again`, {
    reason: "Locked",
    identity: lockIdentity(cluster),
    retryable: true,
  });
}

/** The Lease as stored; null when there is none. */
async function readLease(rest: KubeRest): Promise<V1Lease | null> {
  return rest.get<V1Lease>(LEASE_PATH);
}

/** Annotations with this process's token set (removed where there is none). */
function withHolderProcess(annotations: Record<string, string> | undefined): Record<string, string> {
  const { [HOLDER_PROCESS_ANNOTATION]: _previous, ...others } = annotations ?? {};
  const token = processToken();
  return token === null ? others : { ...others, [HOLDER_PROCESS_ANNOTATION]: token };
}

function newLease(holder: string, leaseSeconds: number, at: Date): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: LOCK_NAME, namespace: BOSUN_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "bosun" }, annotations: withHolderProcess(undefined) },
    spec: { holderIdentity: holder, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(at), renewTime: microTime(at), leaseTransitions: 0 },
  };
}

/** The spec of a Lease being taken over; fields bosun does not use (strategy, preferredHolder) are kept. */
function takeSpec(previous: V1LeaseSpec | undefined, holder: string, leaseSeconds: number, at: Date, transition: boolean): V1LeaseSpec {
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

function startRenewing(rest: KubeRest, options: ClusterLockOptions, renewEverySeconds: number, now: () => Date, held: V1Lease, acquiredAt: Date): ClusterLock {
  const { cluster, holder, leaseSeconds } = options;
  const controller = new AbortController();
  let current = held;
  let lastRenewed = acquiredAt;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;

  let expiry: NodeJS.Timeout | undefined;
  const lose = (why: string): void => {
    stopped = true;
    if (expiry) clearTimeout(expiry);
    controller.abort(new LockLostError(cluster, why));
  };
  // Stop just before the lease we last wrote runs out, not at the next renewal attempt (which may come a
  // third of a lease later): from then on another run may take the cluster over.
  const armExpiry = (): void => {
    if (expiry) clearTimeout(expiry);
    const delay = lastRenewed.getTime() + leaseSeconds * 900 - now().getTime();
    expiry = setTimeout(() => {
      if (!stopped) lose(`could not renew it since ${formatUtc(lastRenewed)} and its ${leaseSeconds} s lease is running out`);
    }, Math.max(0, delay));
    expiry.unref();
  };
  armExpiry();

  const renew = async (): Promise<void> => {
    const at = now();
    // Two tries: a 409 from someone touching the Lease while we still hold it (a label edit) is retried once
    // against the fresh copy; a 409 because another holder took it ends in lose().
    for (let attempt = 0; attempt < 2 && !stopped; attempt += 1) {
      const spec = current.spec ?? {};
      spec.renewTime = microTime(at);
      const body: V1Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: current.metadata ?? { name: LOCK_NAME }, spec };
      try {
        current = await rest.replace<V1Lease>(LEASE_PATH, body, `renew Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`);
        lastRenewed = at;
        armExpiry();
        return;
      } catch (error) {
        const code = httpStatus(error);
        if (code === 404) {
          lose("someone deleted it");
          return;
        }
        if (code !== 409) break;
      }
      let fresh: V1Lease | null;
      try {
        fresh = await readLease(rest);
      } catch {
        break;
      }
      if (fresh === null) {
        lose("someone deleted it");
        return;
      }
      current = fresh;
      const other = current.spec?.holderIdentity ?? "";
      if (other !== holder) {
        lose(other === "" ? "someone released it" : `${other} took it over`);
        return;
      }
    }
    // The cluster did not answer (or kept conflicting). Still ours until the lease we last wrote expires;
    // after that another run may take it, so stop.
    if (!stopped && now().getTime() >= lastRenewed.getTime() + leaseSeconds * 1000) {
      lose(`could not renew it since ${formatUtc(lastRenewed)} and its ${leaseSeconds} s lease has expired`);
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      inflight = renew()
        .catch((error: unknown) => {
          // renew() handles API errors itself; anything else is a bug, and the safe reaction is to stop.
          lose(`renewal failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => {
          inflight = undefined;
          schedule();
        });
    }, renewEverySeconds * 1000);
    // The lock must never keep the process alive on its own: the executor's work does that.
    timer.unref();
  };
  schedule();

  let released: Promise<void> | undefined;
  const release = async (): Promise<void> => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (expiry) clearTimeout(expiry);
    await inflight;
    if (controller.signal.aborted) return; // someone else holds it now: not ours to delete
    for (let attempt = 1; ; attempt += 1) {
      const lease = await readLease(rest).catch((error: unknown) => {
        throw kubeFailure(cluster, `read Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`, error);
      });
      if (lease === null || lease.spec?.holderIdentity !== holder) return;
      const uid = lease.metadata?.uid;
      const resourceVersion = lease.metadata?.resourceVersion;
      try {
        // The preconditions make the delete fail (409) if the Lease changed since the read — a takeover.
        await rest.remove(LEASE_PATH, { preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) }, what: `delete Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}` });
        return;
      } catch (error) {
        if (httpStatus(error) !== 409 || attempt >= ACQUIRE_ATTEMPTS) throw kubeFailure(cluster, `delete Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`, error);
      }
    }
  };

  return {
    holder,
    lost: controller.signal,
    release: () => (released ??= release()),
    fence: async () => {
      await inflight;
    },
  };
}
