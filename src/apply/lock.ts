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
 * The pure Lease logic lives in `lease.ts`, the renewal and release in `renewer.ts`.
 *
 * Every request goes through `KubeRest` (its deadline, its User-Agent `bosun`): a cluster that stops
 * answering makes acquire fail as unreachable and a renewal count as not renewed, instead of hanging the
 * run. While a renewal is in flight, {@link ClusterLock.fence} holds the run's writes back, so a write is
 * never sent while the renewal that would reveal a takeover is still out.
 *
 * Expiry compares the holder's `renewTime` (its clock) with the taker's clock, so the machines' clocks
 * must roughly agree (NTP); the lease duration should be far larger than any plausible skew.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { V1Lease } from "@kubernetes/client-node";
import { BosunError, InvalidInputError } from "../errors.js";
import { BOSUN_NAMESPACE, HOLDER_PROCESS_ANNOTATION } from "../constants.js";
import { ensureBosunNamespace } from "../kube/system.js";
import { httpStatus, kubeFailure } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import { processStartTime, processState, processToken } from "../process-identity.js";
import { ACQUIRE_ATTEMPTS, ClusterLockedError, LEASES_PATH, LEASE_PATH, LOCK_NAME, leaseStatus, lockIdentity, newLease, takeSpec } from "./lease.js";
import { readLease, startRenewing } from "./renewer.js";

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

/**
 * True when the Lease's holder crashed on this machine: its `holderProcess` token names this boot and
 * this pid namespace, and that pid is gone or now belongs to a process started at another time.
 * Anything else — another machine or container, no token, a live holder — is presumed alive, and the
 * lease must expire before it is taken over.
 */
export function holderIsGone(holderProcess: string | undefined, self: string | null = processToken(), startOf: (pid: number) => string | null = processStartTime): boolean {
  // A Lease is seen from many machines: only a token naming this boot and pid namespace can prove its
  // holder is gone; "other-boot", "other-namespace" and "unknown" leave it to expire.
  return holderProcess !== undefined && processState(holderProcess, self, startOf) === "gone";
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
      const created = await rest.create<V1Lease>(LEASES_PATH, newLease(holder, leaseSeconds, at, withHolderProcess(undefined)), `create Lease ${BOSUN_NAMESPACE}/${LOCK_NAME}`);
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

/** Annotations with this process's token set (removed where there is none). */
function withHolderProcess(annotations: Record<string, string> | undefined): Record<string, string> {
  const { [HOLDER_PROCESS_ANNOTATION]: _previous, ...others } = annotations ?? {};
  const token = processToken();
  return token === null ? others : { ...others, [HOLDER_PROCESS_ANNOTATION]: token };
}

