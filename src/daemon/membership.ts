/**
 * Which clusters this replica reconciles. One replica alone owns every cluster ({@link SoloMembership});
 * several replicas share the fleet through Leases in the state cluster (`./shards.ts`): each replica
 * holds a Lease of its own, the live replicas are the Leases that have not expired, and a cluster belongs
 * to the live replica with the highest rendezvous hash of (replica, cluster). The per-cluster apply lock
 * still fences every write, so two replicas that briefly disagree during a hand-over never both write.
 */

/** This replica's view of the fleet's sharding. */
export interface Membership {
  /** This replica's id (its Lease's holder). */
  readonly self: string;
  /** Joins (first heartbeat); resolves once ownership can be answered. */
  start(): Promise<void>;
  /** Whether this replica owns `cluster` now. */
  owns(cluster: string): boolean;
  /** The live replicas, sorted (this one included). */
  replicas(): string[];
  /** Called when the set of live replicas changed (a replica joined, left or expired). */
  onChange(listener: () => void): void;
  /** Leaves: stops heartbeating and releases this replica's Lease so the others take over at once. */
  stop(): Promise<void>;
}

/** The single-replica membership: owns every cluster. */
export class SoloMembership implements Membership {
  constructor(readonly self: string) {}
  async start(): Promise<void> {
    // Nothing to join.
  }
  owns(): boolean {
    return true;
  }
  replicas(): string[] {
    return [this.self];
  }
  onChange(): void {
    // Never changes.
  }
  async stop(): Promise<void> {
    // Nothing to release.
  }
}
