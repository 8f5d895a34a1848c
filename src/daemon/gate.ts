/**
 * Whether each wave may be planned and applied at the target revision, decided from the shared state
 * alone (pure: the moment is a parameter), so every replica reaches the same answer for waves whose
 * clusters it does not own.
 *
 * A wave is planned once every earlier wave is done at the target revision (each of its clusters converged
 * there; a cluster unreachable at it counts only when the wave says `continueOnSkip`, as with `bosun apply`)
 * and the soak after the last wave that changed anything has passed. A planned wave is applied unless it
 * is halted at this revision, paused (Git's `rollout.paused`, or a pause of the wave), or manual without an
 * approval of this revision. A wave whose clusters turn out in sync converges without an approval: an
 * approval is asked for work, not for a revision.
 */
import type { DesiredWave } from "../spec/types.js";
import type { ClusterState, FleetState, Halt, Pause } from "./state.js";

/** The decision for one wave. */
export interface WaveGate {
  wave: string;
  /** Its clusters may be planned (earlier waves done, soak over). */
  plan: boolean;
  /** Its clusters may be changed. */
  apply: boolean;
  /** Why not, when `plan` or `apply` is false. */
  waiting: "earlier-wave" | "soaking" | "halted" | "paused" | "awaiting-approval" | null;
  reason: string | null;
  /** When the soak before this wave ends, while it lasts. */
  soakUntil: Date | null;
  halt: Halt | null;
  pause: Pause | null;
  /** Every cluster of the wave is done at the target revision. */
  done: boolean;
}

/** The inputs of {@link waveGates}. */
export interface GateInput {
  waves: readonly DesiredWave[];
  revision: string;
  fleet: FleetState;
  /** Every cluster's state, by name (other replicas' included). */
  clusters: ReadonlyMap<string, ClusterState>;
  rolloutPaused: boolean;
  now: Date;
}

/** Whether a cluster is done at `revision` for the rollout's order. */
export function clusterDone(state: ClusterState | undefined, revision: string, continueOnSkip = false): boolean {
  if (!state) return false;
  if (state.convergedRevision === revision) return true;
  return continueOnSkip && state.lastAttempt?.revision === revision && state.lastAttempt.outcome === "unreachable";
}

/** Decides every wave, in rollout order. */
export function waveGates(input: GateInput): WaveGate[] {
  const gates: WaveGate[] = [];
  let blockedBy: string | null = null;
  let soakUntil: Date | null = null;
  for (const wave of input.waves) {
    const halt = input.fleet.halts.find((h) => h.wave === wave.name && h.revision === input.revision) ?? null;
    const pause = input.fleet.pauses.find((p) => p.scope === "wave" && p.name === wave.name) ?? null;
    const approved = wave.apply === "auto" || input.fleet.approvals.some((a) => a.wave === wave.name && a.revision === input.revision);
    const done = wave.clusters.every((name) => clusterDone(input.clusters.get(name), input.revision, wave.continueOnSkip));
    const soaking = soakUntil !== null && soakUntil.getTime() > input.now.getTime() ? soakUntil : null;
    const plan = blockedBy === null && soaking === null;
    let waiting: WaveGate["waiting"] = null;
    let reason: string | null = null;
    if (blockedBy !== null) {
      waiting = "earlier-wave";
      reason = `waiting for wave ${blockedBy} to finish revision ${input.revision.slice(0, 12)}`;
    } else if (soaking !== null) {
      waiting = "soaking";
      reason = `soaking until ${soaking.toISOString()} after the previous wave`;
    } else if (halt) {
      waiting = "halted";
      reason = `halted at this revision: ${halt.cause}`;
    } else if (input.rolloutPaused) {
      waiting = "paused";
      reason = "rollout.paused is true in the fleet";
    } else if (pause) {
      waiting = "paused";
      reason = `paused by ${pause.by} at ${pause.at}${pause.reason ? `: ${pause.reason}` : ""}`;
    } else if (!approved) {
      waiting = "awaiting-approval";
      reason = `manual wave: waiting for bosun approve --wave ${wave.name} --revision ${input.revision.slice(0, 12)}`;
    }
    const apply = plan && halt === null && !input.rolloutPaused && pause === null && approved;
    gates.push({ wave: wave.name, plan, apply, waiting, reason, soakUntil: soaking, halt, pause, done });
    if (blockedBy === null && soaking === null && !done) blockedBy = wave.name;
    if (blockedBy === null && soaking === null && done && wave.soakSeconds > 0) {
      // The soak runs from the wave's last change at this revision; a wave that changed nothing needs none.
      const changedAt = wave.clusters
        .map((name) => input.clusters.get(name)?.lastAttempt)
        .filter((a) => a !== undefined && a !== null && a.revision === input.revision && a.outcome === "converged" && (a.steps ?? 0) > 0)
        .map((a) => Date.parse(a?.at ?? ""))
        .filter((t) => Number.isFinite(t));
      if (changedAt.length > 0) soakUntil = new Date(Math.max(...changedAt) + wave.soakSeconds * 1000);
    }
  }
  return gates;
}
