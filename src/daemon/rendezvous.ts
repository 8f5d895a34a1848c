/**
 * Which replica owns a cluster: rendezvous (highest-random-weight) hashing. Every replica scores every
 * cluster with a hash of the pair and the highest score wins. Why this rather than a ring or a modulo:
 * with no coordination beyond the list of live replicas, every replica computes the same owner, and when
 * a replica joins or leaves only the clusters it wins (or won) move — the others keep their owner, so a
 * hand-over never reshuffles the fleet.
 *
 * The hash is sha256 of `replica\0cluster` compared as a big-endian number: stable across processes,
 * versions of Node and machines (a process-seeded hash would make replicas disagree). Pure.
 */
import { createHash } from "node:crypto";

/** The score of `replica` for `cluster`: sha256 of `replica\0cluster` (NUL: no pair of names collides by concatenation). */
export function rendezvousWeight(replica: string, cluster: string): Buffer {
  return createHash("sha256").update(replica).update("\0").update(cluster).digest();
}

/**
 * The replica that owns `cluster` among `replicas`: the one with the highest weight; undefined when there
 * is none. The order of `replicas` and duplicates in it do not matter. Ties (which sha256 makes
 * practically impossible) go to the lexically smaller name, so the answer never depends on the order.
 */
export function ownerOf(cluster: string, replicas: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight: Buffer | undefined;
  for (const replica of replicas) {
    const weight = rendezvousWeight(replica, cluster);
    const order = bestWeight === undefined ? 1 : Buffer.compare(weight, bestWeight);
    if (order > 0 || (order === 0 && best !== undefined && replica < best)) {
      best = replica;
      bestWeight = weight;
    }
  }
  return best;
}
