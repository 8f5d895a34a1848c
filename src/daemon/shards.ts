/**
 * Several replicas of the daemon sharing one fleet through Leases in the state cluster (see
 * `membership.ts` for the design): each replica holds a coordination.k8s.io/v1 Lease of its own,
 * `bosun-replica-<name>` labelled `bosun.dev/replica=true`, with itself as `holderIdentity`; the live
 * replicas are the Leases whose `renewTime + leaseDurationSeconds` is after now; a cluster belongs to the
 * live replica that wins its rendezvous hash (`rendezvous.ts`).
 *
 * Why one Lease per replica rather than one leader handing out shards: nobody has to be elected, no
 * assignment has to be written, and a replica that dies simply stops renewing — every survivor computes
 * the same new owners from the same list.
 *
 * Timings (defaults: 15 s lease, renewed every 5 s):
 * - a replica that leaves cleanly ({@link LeaseMembership.stop}) deletes its Lease, so the others move
 *   its clusters at their next heartbeat: within `renewEverySeconds`;
 * - a replica that dies stops renewing; its Lease expires `leaseSeconds` after its last renewal and every
 *   other replica notices at its next heartbeat: its clusters move within
 *   `leaseSeconds + renewEverySeconds` (20 s by default);
 * - a replica that cannot renew (the state cluster is unreachable from it) owns nothing once nine tenths
 *   of its lease have passed since its last renewal — before the others can count it dead — and owns its
 *   share again after its next successful renewal.
 * Two replicas can still disagree for a moment (one has seen a change, the other has not yet); the
 * per-cluster apply lock fences every write, so they never both change one cluster.
 *
 * Expiry compares a replica's `renewTime` (its clock) with the reader's clock, like the apply lock: the
 * machines' clocks must roughly agree (NTP), far closer than the lease.
 *
 * Every request goes through `KubeRest`; the Lease bodies are plain JSON with MicroTime written as the API
 * server requires (six fractional digits).
 */
import { createHash, randomBytes } from "node:crypto";
import { MANAGED_BY_BOSUN } from "../constants.js";
import { BosunError, InvalidInputError, asError } from "../errors.js";
import { httpStatus } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import { leaseTime } from "../apply/lease.js";
import type { Membership } from "./membership.js";
import { ownerOf } from "./rendezvous.js";

/** The label on every replica's Lease (the selector the replicas list each other by). */
export const REPLICA_LABEL = "bosun.dev/replica";
/** Annotation on a replica's Lease: a random id of the process holding it, to notice two processes sharing one replica id. */
export const REPLICA_INSTANCE_ANNOTATION = "bosun.dev/replica-instance";
/** The prefix of every replica's Lease name. */
export const REPLICA_LEASE_PREFIX = "bosun-replica-";
/** Default lease: how long a dead replica's clusters wait (plus one heartbeat) before they move. */
export const DEFAULT_REPLICA_LEASE_SECONDS = 15;
/** Default heartbeat: a third of the lease, so two renewals may fail before the lease runs out. */
export const DEFAULT_REPLICA_RENEW_SECONDS = 5;
/** Attempts at joining or leaving when the Lease changes under each attempt. */
const ATTEMPTS = 5;
/** A replica owns nothing once this share of its lease has passed without a renewal (see the module comment). */
const OWN_UNTIL_SHARE = 0.9;

/** Options of a {@link LeaseMembership}. */
export interface LeaseMembershipOptions {
  /** The state cluster's client. */
  rest: KubeRest;
  /** The namespace of the replicas' Leases (it must exist; the state store's namespace). */
  namespace: string;
  /** This replica's id, unique among the replicas and stable across its restarts: the pod name. */
  self: string;
  /** How long a Lease stays live without renewal (whole seconds, at least 1). */
  leaseSeconds?: number;
  /** How often this replica renews its Lease and lists the others; less than `leaseSeconds`. */
  renewEverySeconds?: number;
  /** The clock (tests); the real one by default. */
  now?: () => Date;
  /** Where membership changes and renewal failures are told. */
  log?: (line: string) => void;
  /**
   * Halts at once when aborted: requests in flight are cancelled and heartbeats stop, but the Lease is
   * not deleted (it expires) — for a process going down hard. {@link LeaseMembership.stop} leaves cleanly.
   */
  signal?: AbortSignal;
}

/** A replica's Lease as the API server returns it (plain JSON: MicroTimes are strings). */
export interface StoredLease {
  metadata?: { name?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number; [key: string]: unknown };
}

/** A replica's Lease as bosun writes it. */
interface LeaseBody {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: NonNullable<StoredLease["metadata"]>;
  spec: NonNullable<StoredLease["spec"]>;
}

/** A {@link Membership} through one Lease per replica in the state cluster. */
export class LeaseMembership implements Membership {
  readonly self: string;
  private readonly rest: KubeRest;
  private readonly namespace: string;
  private readonly leaseSeconds: number;
  private readonly renewEverySeconds: number;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly name: string;
  private readonly instance = randomBytes(6).toString("hex");
  private readonly listeners: (() => void)[] = [];

  private state: "new" | "running" | "halted" = "new";
  private current: StoredLease | undefined;
  private lastRenewed: Date | undefined;
  /** Expiry of every replica's Lease as last listed. */
  private expiries = new Map<string, number>();
  private live: string[] = [];
  private renewFailing = false;
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(options: LeaseMembershipOptions) {
    const leaseSeconds = options.leaseSeconds ?? DEFAULT_REPLICA_LEASE_SECONDS;
    const renewEverySeconds = options.renewEverySeconds ?? DEFAULT_REPLICA_RENEW_SECONDS;
    if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1) throw new InvalidInputError(`replica lease must be a whole number of seconds, at least 1 (got ${leaseSeconds})`);
    if (!(renewEverySeconds > 0 && renewEverySeconds < leaseSeconds)) {
      throw new InvalidInputError(`replica heartbeat must be positive and shorter than the lease (${leaseSeconds} s), got ${renewEverySeconds} s`);
    }
    if (options.self.trim() === "" || options.self.length > 253) throw new InvalidInputError(`replica id must be 1 to 253 characters (got ${JSON.stringify(options.self)})`);
    this.self = options.self;
    this.signal = options.signal;
    this.rest = options.signal ? options.rest.derive({ signal: options.signal }) : options.rest;
    this.namespace = options.namespace;
    this.leaseSeconds = leaseSeconds;
    this.renewEverySeconds = renewEverySeconds;
    this.now = options.now ?? ((): Date => new Date());
    this.log = options.log ?? ((): void => undefined);
    this.name = replicaLeaseName(options.self);
    options.signal?.addEventListener(
      "abort",
      () => {
        this.halt();
      },
      { once: true },
    );
  }

  /** Creates (or takes back) this replica's Lease, lists the others and starts heartbeating. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new BosunError(`replica ${this.self}: membership already started`, { reason: "Internal" });
    this.signal?.throwIfAborted();
    this.state = "running";
    try {
      await this.join();
      await this.refresh();
    } catch (error) {
      this.halt();
      throw error;
    }
    this.live = this.compute();
    this.log(`replica ${this.self}: joined; live replicas: ${this.live.join(", ")}`);
    this.schedule();
  }

  owns(cluster: string): boolean {
    if (this.state !== "running" || !this.healthy()) return false;
    return ownerOf(cluster, this.live) === this.self;
  }

  replicas(): string[] {
    return [...this.live];
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Stops heartbeating and deletes this replica's Lease while it still holds it. Safe to call more than once. */
  stop(): Promise<void> {
    return (this.stopped ??= this.leave());
  }

  /** When this replica's Lease expires unless renewed (undefined before it joined). */
  get expiresAt(): Date | undefined {
    return this.lastRenewed && new Date(this.lastRenewed.getTime() + this.leaseSeconds * 1000);
  }

  private async leave(): Promise<void> {
    const aborted = this.signal?.aborted === true;
    this.halt();
    await this.inflight;
    this.live = [];
    if (aborted || this.current === undefined) return;
    for (let attempt = 1; ; attempt += 1) {
      const lease = await this.rest.get<StoredLease>(this.path());
      if (lease === null || lease.spec?.holderIdentity !== this.self) return;
      const uid = lease.metadata?.uid;
      const resourceVersion = lease.metadata?.resourceVersion;
      try {
        // Preconditions: the delete fails (409) if the Lease changed since the read, so it never removes
        // a Lease somebody else wrote in between.
        await this.rest.remove(this.path(), {
          preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
          what: `delete Lease ${this.namespace}/${this.name}`,
        });
        this.log(`replica ${this.self}: left (Lease ${this.namespace}/${this.name} deleted)`);
        return;
      } catch (error) {
        if (httpStatus(error) !== 409 || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  /** Stops every timer; nothing is sent afterwards. */
  private halt(): void {
    this.state = "halted";
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
  }

  /** Whether this replica renewed recently enough to be sure the others still count it live. */
  private healthy(): boolean {
    if (this.lastRenewed === undefined) return false;
    return this.now().getTime() < this.lastRenewed.getTime() + this.leaseSeconds * 1000 * OWN_UNTIL_SHARE;
  }

  private async join(): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      const at = this.now();
      try {
        this.renewed(await this.rest.create<StoredLease>(this.collection(), this.newLease(at), `create Lease ${this.namespace}/${this.name}`), at);
        return;
      } catch (error) {
        const status = httpStatus(error);
        if (status === 404) {
          throw new InvalidInputError(`state cluster ${this.rest.cluster}: namespace ${this.namespace} does not exist; create it (and the daemon's RBAC in it) before starting replicas`, { cause: error });
        }
        if (status !== 409) throw error;
      }
      // Our Lease exists: this replica restarted within its lease (or another process uses the same id).
      const existing = await this.rest.get<StoredLease>(this.path());
      if (existing === null) continue;
      const expiry = replicaLeaseExpiry(existing);
      if (expiry !== undefined && expiry.getTime() > at.getTime() && existing.metadata?.annotations?.[REPLICA_INSTANCE_ANNOTATION] !== this.instance) {
        this.log(`replica ${this.self}: took back its Lease, renewed by another process until ${expiry.toISOString()}; if another replica runs with the same id, give each its own (the pod name)`);
      }
      if (await this.take(existing, at, true)) return;
    }
    throw new BosunError(`replica ${this.self}: could not take its Lease ${this.namespace}/${this.name}: it changed under each of ${ATTEMPTS} attempts`, { reason: "Locked", retryable: true });
  }

  /** Writes `existing` back as ours at `at`, guarded by its resourceVersion; false when it changed meanwhile. */
  private async take(existing: StoredLease, at: Date, transition: boolean): Promise<boolean> {
    const spec = existing.spec ?? {};
    const body: LeaseBody = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...existing.metadata, name: this.name, namespace: this.namespace, labels: this.labels(existing.metadata?.labels), annotations: { ...existing.metadata?.annotations, [REPLICA_INSTANCE_ANNOTATION]: this.instance } },
      spec: {
        ...spec,
        holderIdentity: this.self,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime: transition ? microTimeText(at) : spec.acquireTime,
        renewTime: microTimeText(at),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (transition ? 1 : 0),
      },
    };
    try {
      this.renewed(await this.rest.replace<StoredLease>(this.path(), body, `take Lease ${this.namespace}/${this.name}`), at);
      return true;
    } catch (error) {
      const status = httpStatus(error);
      if (status === 409 || status === 404) return false;
      throw error;
    }
  }

  private renewed(lease: StoredLease, at: Date): void {
    this.current = lease;
    this.lastRenewed = at;
    if (this.renewFailing) this.log(`replica ${this.self}: renewed its Lease again`);
    this.renewFailing = false;
    this.armExpiry();
  }

  /** Renews this replica's Lease; a Lease changed or deleted under it is taken back (it is ours by name). */
  private async renew(): Promise<void> {
    const at = this.now();
    try {
      if (this.current !== undefined && (await this.take(this.current, at, false))) return;
      // Changed (another writer, or a label edit) or deleted meanwhile: read it and take it back.
      const fresh = await this.rest.get<StoredLease>(this.path());
      if (fresh === null) {
        this.log(`replica ${this.self}: its Lease ${this.namespace}/${this.name} was deleted; creating it again`);
        this.renewed(await this.rest.create<StoredLease>(this.collection(), this.newLease(at), `create Lease ${this.namespace}/${this.name}`), at);
        return;
      }
      const other = fresh.metadata?.annotations?.[REPLICA_INSTANCE_ANNOTATION];
      if (other !== undefined && other !== this.instance) this.log(`replica ${this.self}: another process renewed its Lease; each replica needs its own id`);
      if (!(await this.take(fresh, at, false))) throw new BosunError(`Lease ${this.namespace}/${this.name} changed again while being renewed`, { reason: "Locked", retryable: true });
    } catch (error) {
      if (this.state !== "running") return;
      if (!this.renewFailing) {
        const until = this.lastRenewed && new Date(this.lastRenewed.getTime() + this.leaseSeconds * 1000 * OWN_UNTIL_SHARE).toISOString();
        this.log(`replica ${this.self}: could not renew its Lease: ${asError(error).message}; it keeps its clusters until ${until ?? "it renews"} at most`);
      }
      this.renewFailing = true;
    }
  }

  /** Lists every replica's Lease and records when each expires. */
  private async refresh(): Promise<void> {
    const leases = await this.rest.list<StoredLease>(this.collection(), { labelSelector: `${REPLICA_LABEL}=true` });
    const expiries = new Map<string, number>();
    for (const lease of leases) {
      const holder = lease.spec?.holderIdentity ?? "";
      const expiry = replicaLeaseExpiry(lease);
      if (holder === "" || expiry === undefined) continue;
      expiries.set(holder, Math.max(expiry.getTime(), expiries.get(holder) ?? 0));
    }
    this.expiries = expiries;
  }

  /** The live replicas at this moment: unexpired Leases, this one by its own last renewal. */
  private compute(): string[] {
    const now = this.now().getTime();
    const live = new Set<string>();
    for (const [holder, expiry] of this.expiries) if (holder !== this.self && expiry > now) live.add(holder);
    if (this.state === "running" && this.healthy()) live.add(this.self);
    return [...live].sort();
  }

  /** One heartbeat: renew, list, and tell the listeners when the live set changed. */
  private async beat(): Promise<void> {
    await this.renew();
    try {
      await this.refresh();
    } catch (error) {
      // The last list stays; expired entries still drop out by their expiry.
      if (this.state === "running") this.log(`replica ${this.self}: could not list the replicas: ${asError(error).message}`);
    }
    this.update();
  }

  private update(): void {
    if (this.state !== "running") return;
    const next = this.compute();
    if (next.join("\n") === this.live.join("\n")) return;
    const previous = this.live;
    this.live = next;
    if (!next.includes(this.self)) this.log(`replica ${this.self}: has not renewed its Lease since ${this.lastRenewed?.toISOString() ?? "never"}; it owns no cluster until it does`);
    this.log(`replica ${this.self}: live replicas: ${next.join(", ") || "none"} (were ${previous.join(", ") || "none"})`);
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.log(`replica ${this.self}: a membership listener failed: ${asError(error).message}`);
      }
    }
  }

  private schedule(): void {
    if (this.state !== "running") return;
    this.timer = setTimeout(() => {
      this.inflight = this.beat()
        .catch((error: unknown) => {
          this.log(`replica ${this.self}: heartbeat failed: ${asError(error).message}`);
        })
        .finally(() => {
          this.inflight = undefined;
          this.schedule();
        });
    }, this.renewEverySeconds * 1000);
    // Membership never keeps the process alive on its own.
    this.timer.unref();
  }

  /** Drops this replica's ownership the moment its own lease is about to run out, not at the next heartbeat. */
  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.lastRenewed === undefined || this.state !== "running") return;
    const delay = this.lastRenewed.getTime() + this.leaseSeconds * 1000 * OWN_UNTIL_SHARE - this.now().getTime();
    this.expiryTimer = setTimeout(() => {
      this.update();
    }, Math.max(0, delay) + 1);
    this.expiryTimer.unref();
  }

  private newLease(at: Date): LeaseBody {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.name, namespace: this.namespace, labels: this.labels(undefined), annotations: { [REPLICA_INSTANCE_ANNOTATION]: this.instance } },
      spec: { holderIdentity: this.self, leaseDurationSeconds: this.leaseSeconds, acquireTime: microTimeText(at), renewTime: microTimeText(at), leaseTransitions: 0 },
    };
  }

  private labels(existing: Record<string, string> | undefined): Record<string, string> {
    return { ...existing, ...MANAGED_BY_BOSUN, [REPLICA_LABEL]: "true" };
  }

  private collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
  }

  private path(): string {
    return `${this.collection()}/${encodeURIComponent(this.name)}`;
  }
}

/**
 * The Lease name of replica `self`: `bosun-replica-` + a DNS-safe form of the id + a hash of the id, so two
 * ids that sanitise alike (`Pod_1`, `pod-1`) still get distinct Leases. Pure.
 */
export function replicaLeaseName(self: string): string {
  const safe = self
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
  const hash = createHash("sha256").update(self).digest("hex").slice(0, 10);
  return `${REPLICA_LEASE_PREFIX}${safe === "" ? "" : `${safe}-`}${hash}`;
}

/** A MicroTime as the API server accepts it: RFC 3339 with exactly six fractional digits. Pure. */
export function microTimeText(date: Date): string {
  return `${date.toISOString().slice(0, -1)}000Z`;
}

/**
 * When a replica's Lease expires unless renewed: `renewTime` (else `acquireTime`) + `leaseDurationSeconds`;
 * undefined when it cannot say (such a Lease proves no replica alive). Pure.
 */
export function replicaLeaseExpiry(lease: StoredLease): Date | undefined {
  const last = leaseTime(lease.spec?.renewTime) ?? leaseTime(lease.spec?.acquireTime);
  const seconds = lease.spec?.leaseDurationSeconds;
  if (last === undefined || typeof seconds !== "number" || seconds <= 0) return undefined;
  return new Date(last.getTime() + seconds * 1000);
}
