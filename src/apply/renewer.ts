/**
 * Keeps a taken cluster lock (`lock.ts`) alive: renews the Lease every `renewEverySeconds` on an unref'd
 * timer, aborts `lost` when another holder took it, someone deleted it, or it could not be renewed before it
 * expired (a timer just before the lease runs out, not the next renewal attempt), and releases it — deleting
 * the Lease with a precondition on its uid and resourceVersion, only while this run still holds it.
 */
import type { V1Lease } from "@kubernetes/client-node";
import { BOSUN_NAMESPACE } from "../constants.js";
import { httpStatus, kubeFailure } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import { ACQUIRE_ATTEMPTS, LEASE_PATH, LOCK_NAME, LockLostError, formatUtc, microTime } from "./lease.js";
import type { ClusterLock, ClusterLockOptions } from "./lock.js";

/** Starts renewing the Lease `held` (taken at `acquiredAt`) and returns the lock the executor holds. */
export function startRenewing(rest: KubeRest, options: ClusterLockOptions, renewEverySeconds: number, now: () => Date, held: V1Lease, acquiredAt: Date): ClusterLock {
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

/** The lock Lease as stored; null when there is none. */
export async function readLease(rest: KubeRest): Promise<V1Lease | null> {
  return rest.get<V1Lease>(LEASE_PATH);
}
