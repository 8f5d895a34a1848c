/**
 * Runs a plan's clusters wave by wave (DESIGN section 1, loop 2): waves in rollout order; inside a wave
 * up to `maxConcurrent` clusters at once; a cluster that fails halts every later wave, and the other
 * clusters of its wave finish the step they are in and stop; `soak` waits between waves; a cluster outside
 * its maintenance window is deferred, not failed. A cluster the wave skipped — unreachable, deferred or
 * blocked — holds every later wave too, unless the wave says `continueOnSkip`: a canary that could not be
 * changed must not let production go first.
 *
 * What running one cluster means is a parameter (`runCluster`), so this module is only the schedule: the
 * executor passes the function that takes the lock, replays the journal and runs the steps.
 */
import type { FailurePhase } from "../errors.js";
import { BosunError } from "../errors.js";
import type { ClusterPlan, Plan } from "../plan/types.js";

/** How one cluster's run ended. */
export type ClusterOutcome =
  /** Every step ran (or had already run). */
  | { kind: "converged"; steps: number; versions?: string }
  /** Nothing to do. */
  | { kind: "in-sync" }
  /** A step failed (in `phase`, when it says): halts later waves. */
  | { kind: "failed"; step: string; reason: string; phase?: FailurePhase; versions?: string }
  /** The cluster could not be reached (before or during the run); does not halt later waves. */
  | { kind: "unreachable"; reason: string }
  /** Not run now: outside its maintenance window, or the plan has a blocked step or an invalid cluster. */
  | { kind: "deferred"; reason: string }
  /** Stopped because another cluster failed (after finishing its current step), or never started. */
  | { kind: "halted"; reason: string; steps: number };

/** A wave as the schedule needs it. */
export interface WaveSettings {
  name: string;
  maxConcurrent: number;
  soakSeconds: number;
  /** Whether skipped clusters (unreachable, deferred) let the next wave start. Default false. */
  continueOnSkip?: boolean;
}

/** What the schedule reports while it runs (progress output). */
export type WaveEvent =
  | { kind: "wave-start"; wave: string; clusters: string[] }
  | { kind: "cluster-start"; wave: string; cluster: string }
  | { kind: "cluster-end"; wave: string; cluster: string; outcome: ClusterOutcome }
  | { kind: "soak"; wave: string; seconds: number }
  | { kind: "halt"; wave: string; cause: string };

/** The schedule's inputs besides the plan. */
export interface RunWavesOptions {
  waves: readonly WaveSettings[];
  /**
   * Runs one cluster. `stop` aborts when another cluster of the wave failed: finish the current step,
   * then return `halted`.
   */
  runCluster: (cluster: ClusterPlan, stop: AbortSignal) => Promise<ClusterOutcome>;
  /** Whether the cluster may be changed now (maintenance windows); a reason when not. */
  deferral: (cluster: ClusterPlan) => string | undefined;
  /** Waits between waves; injected so tests do not sleep. */
  sleep: (seconds: number) => Promise<void>;
  /**
   * The soak after a wave that changed something, health-gated: watches `clusters` (the ones it changed)
   * for `seconds` and returns why one turned unhealthy, which halts every later wave. Without it the soak
   * is `sleep(seconds)`.
   */
  soak?: (wave: string, clusters: readonly ClusterPlan[], seconds: number) => Promise<string | undefined>;
  onEvent?: (event: WaveEvent) => void;
  /**
   * Stops every cluster after the step it is in, as a failed cluster does to its wave, but halts nothing:
   * the daemon's closing maintenance window and graceful shutdown. Its reason (an Error) says why.
   */
  stop?: AbortSignal;
}

/** Outcomes per cluster name, in plan order. */
export type WaveResults = Map<string, ClusterOutcome>;

/** Runs every cluster of `plan` by its waves and returns how each ended. Never rejects for a cluster's failure. */
export async function runWaves(plan: Plan, options: RunWavesOptions): Promise<WaveResults> {
  const results: WaveResults = new Map();
  const settings = new Map(options.waves.map((w) => [w.name, w]));
  let halted: string | undefined;
  for (const [index, wave] of plan.waves.entries()) {
    const clusters = wave.clusters.map((name) => plan.clusters.find((c) => c.name === name)).filter((c): c is ClusterPlan => c !== undefined);
    if (halted !== undefined) {
      for (const cluster of clusters) results.set(cluster.name, { kind: "halted", reason: halted, steps: 0 });
      continue;
    }
    options.onEvent?.({ kind: "wave-start", wave: wave.name, clusters: clusters.map((c) => c.name) });
    const failure = await runWave(wave.name, clusters, settings.get(wave.name)?.maxConcurrent ?? 1, options, results);
    if (failure !== undefined) {
      halted = `wave ${wave.name} failed (${failure}); later waves do not start`;
      options.onEvent?.({ kind: "halt", wave: wave.name, cause: failure });
      continue;
    }
    const skipped = clusters.flatMap((c) => {
      const outcome = results.get(c.name);
      // halted here means stopped between steps (a window closed, a stop): the cluster did not finish either.
      return outcome !== undefined && (outcome.kind === "unreachable" || outcome.kind === "deferred" || outcome.kind === "halted") ? [`${c.name} (${outcome.kind})`] : [];
    });
    if (skipped.length > 0 && settings.get(wave.name)?.continueOnSkip !== true && index < plan.waves.length - 1) {
      const cause = `${skipped.join(", ")} skipped`;
      halted = `wave ${wave.name} did not finish: ${cause}; later waves do not start (continueOnSkip: true on the wave lets them)`;
      options.onEvent?.({ kind: "halt", wave: wave.name, cause });
      continue;
    }
    const changed = clusters.some((c) => results.get(c.name)?.kind === "converged");
    const soak = settings.get(wave.name)?.soakSeconds ?? 0;
    if (changed && soak > 0 && index < plan.waves.length - 1) {
      options.onEvent?.({ kind: "soak", wave: wave.name, seconds: soak });
      const converged = clusters.filter((c) => results.get(c.name)?.kind === "converged");
      const unhealthy = options.soak ? await options.soak(wave.name, converged, soak) : (await options.sleep(soak), undefined);
      if (unhealthy !== undefined) {
        halted = `wave ${wave.name} turned unhealthy during its soak (${unhealthy}); later waves do not start`;
        options.onEvent?.({ kind: "halt", wave: wave.name, cause: `unhealthy during its soak: ${unhealthy}` });
      }
    }
  }
  return results;
}

/**
 * Runs one wave; returns the first failure as `<cluster> failed at <step>`, if any. Only the cluster and
 * the step: the reason is the failed cluster's own outcome, and repeating it (often many lines of a
 * tool's output) in every halted cluster's reason and in the halt event made the summary unreadable.
 */
async function runWave(
  wave: string,
  clusters: readonly ClusterPlan[],
  maxConcurrent: number,
  options: RunWavesOptions,
  results: WaveResults,
): Promise<string | undefined> {
  const halt = new AbortController();
  const stop = { signal: options.stop ? AbortSignal.any([halt.signal, options.stop]) : halt.signal, abort: () => { halt.abort(); } };
  let failure: string | undefined;
  const queue = [...clusters];
  const worker = async (): Promise<void> => {
    for (let cluster = queue.shift(); cluster !== undefined; cluster = queue.shift()) {
      if (stop.signal.aborted) {
        const why = failure ?? (options.stop?.reason instanceof Error ? options.stop.reason.message : "another cluster failed");
        results.set(cluster.name, { kind: "halted", reason: `not started: ${why}`, steps: 0 });
        continue;
      }
      const outcome = await runOne(wave, cluster, options, stop.signal);
      results.set(cluster.name, outcome);
      if (outcome.kind === "failed" && failure === undefined) {
        failure = `${cluster.name} failed at ${outcome.step}`;
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(maxConcurrent, clusters.length)) }, worker));
  return failure;
}

async function runOne(wave: string, cluster: ClusterPlan, options: RunWavesOptions, stop: AbortSignal): Promise<ClusterOutcome> {
  const preset = presetOutcome(cluster, options);
  if (preset) {
    options.onEvent?.({ kind: "cluster-end", wave, cluster: cluster.name, outcome: preset });
    return preset;
  }
  options.onEvent?.({ kind: "cluster-start", wave, cluster: cluster.name });
  let outcome: ClusterOutcome;
  try {
    outcome = await options.runCluster(cluster, stop);
  } catch (error) {
    // runCluster reports failures as outcomes; anything thrown is still this cluster's failure only — or,
    // when it says the cluster stopped answering (a journal write between two steps, say), that cluster is
    // unreachable, which does not halt the rollout.
    const message = error instanceof Error ? error.message : String(error);
    outcome = error instanceof BosunError && error.reason === "Unreachable" ? { kind: "unreachable", reason: message } : { kind: "failed", step: "(run)", reason: message };
  }
  options.onEvent?.({ kind: "cluster-end", wave, cluster: cluster.name, outcome });
  return outcome;
}

/** Clusters that are not run at all: nothing to do, not reachable, invalid, or outside their window. */
function presetOutcome(cluster: ClusterPlan, options: RunWavesOptions): ClusterOutcome | undefined {
  switch (cluster.status) {
    case "in-sync":
      return { kind: "in-sync" };
    case "unreachable":
      return { kind: "unreachable", reason: cluster.reason ?? "unreachable when planned" };
    case "invalid":
      return { kind: "deferred", reason: `invalid: ${cluster.reason ?? "see the plan"}` };
    case "blocked":
    case "changes": {
      const reason = options.deferral(cluster);
      return reason === undefined ? undefined : { kind: "deferred", reason };
    }
  }
}
