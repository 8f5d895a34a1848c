/**
 * `bosun run`: the reconciler (DESIGN section 1, loops 2 and 3). One work queue (`./triggers.ts`) runs two
 * kinds of work, one at a time:
 *
 * - **reconcile**: fetch the fleet repository; a new revision that loads becomes the target (an invalid
 *   one is shown with its errors and changes nothing); then, wave by wave (`./gate.ts`), plan the clusters
 *   this replica owns that have not converged at the target and apply those whose wave may change. Every
 *   result goes to the state store, so a restart resumes instead of repeating.
 * - **drift**: plan the owned clusters that converged at the target; a non-empty plan is drift, recorded
 *   with its masked diff, and corrected only where the spec says `drift.correct`.
 *
 * Reasons to reconcile are the interval, a push webhook, an approval, a resume, a window opening or a soak
 * ending (timed requests computed from the spec, never a blind poll), a change of the live replicas, and a
 * retry after a failed fetch (with backoff). A failed iteration is logged and the loop goes on.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { processRenderCache, treeDigest } from "../addons/render-cache.js";
import { applyFleet, operationsOf } from "../apply/run.js";
import { RunStoppedError } from "../apply/guard.js";
import { newRunId } from "../apply/lock.js";
import type { StepEvent } from "../apply/execute.js";
import type { ClusterOutcome } from "../apply/waves.js";
import { asError, InvalidInputError } from "../errors.js";
import { planFleet } from "../observe/plan-fleet.js";
import type { ClusterPlan, Plan } from "../plan/types.js";
import { nextWindowChange } from "../plan/windows.js";
import { visibleLine } from "../report/format.js";
import { scrubSecrets } from "../scrub.js";
import type { KubeconfigPolicy } from "../kube/connect.js";
import { openFleetSource, type OpenedFleetSource } from "../source/index.js";
import type { SpecIssue } from "../spec/issues.js";
import { loadFleet } from "../spec/load.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import type { DesiredFleet } from "../spec/types.js";
import { ControlError, type Actor, type ClusterPhase, type ClusterStatus, type DaemonControl, type DaemonStatus, type RevisionError, type WaveStatus } from "./control.js";
import { waveGates, type WaveGate } from "./gate.js";
import type { Membership } from "./membership.js";
import type { DaemonMetrics } from "./metrics.js";
import {
  FLEET_KEY,
  clusterKey,
  emptyClusterState,
  emptyFleetState,
  readState,
  updateState,
  type Approval,
  type ClusterState,
  type FleetState,
  type Pause,
  type StateStore,
} from "./state.js";
import { TriggerQueue, type WorkItem } from "./triggers.js";
import { Notifier } from "../notify/notifier.js";
import type { ScmHost } from "../scm/host.js";
import type { FleetPolicy } from "../spec/load.js";
import { PullRequestBot } from "./pr-bot.js";
import { planPullRequest } from "./pr-plan.js";
import type { ConditionRef, FireInput } from "../notify/types.js";
import { formatIssue } from "../spec/issues.js";

/** Where the daemon reads the fleet from. */
export type DaemonSource = { repo: string; ref: string } | { fleet: string };

/** Everything the daemon needs; the CLI builds it from flags and the environment. */
export interface DaemonOptions {
  source: DaemonSource;
  intervalMs: number;
  driftIntervalMs: number;
  /** Deadline for observing one cluster. */
  clusterTimeoutMs: number;
  store: StateStore;
  membership: Membership;
  metrics: DaemonMetrics;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** The operator's trust settings (never the fleet's). */
  policy: RepoPolicy;
  allowExecPlugins: boolean;
  /** How long to wait after joining before the first reconcile (a replica's heartbeat); default none. */
  settleMs?: number;
  /** Told of every step started, succeeded or failed (Kubernetes Events). */
  onStep?: (event: StepEvent) => void;
  /** The status page's address as people reach it, for links in alerts (`--public-url`, else the listener's). */
  publicUrl?: () => string | undefined;
  /** Code hosts whose pull requests (merge requests) into the followed branch get plans (needs `--repo`). */
  reviews?: readonly ScmHost[];
  now?: () => Date;
}

/** The daemon's own secrets in its environment: never in a log line, a state document or a page. */
const SECRET_SETTINGS = ["BOSUN_GIT_TOKEN", "BOSUN_GIT_PASSWORD", "BOSUN_API_TOKEN", "BOSUN_WEBHOOK_SECRET", "BOSUN_WEBHOOK_GITLAB_TOKEN", "BOSUN_WEBHOOK_TOKEN", "BOSUN_GITHUB_TOKEN", "BOSUN_GITLAB_TOKEN"];

/** Approvals kept in the state (the newest); older revisions' approvals are of no use. */
const MAX_APPROVALS = 100;
/** How often the documents other replicas write are read again (only with several replicas). */
const SHARED_REFRESH_MS = 5_000;
/** How often alert deliveries are re-checked (repeats, retries, resolutions a restart left unsent). */
const ALERT_SYNC_MS = 60_000;
/** How long a cluster locked by another run waits before the next attempt. */
const LOCKED_RETRY_MS = 15_000;
/** The longest wait between two attempts to fetch after failures. */
const MAX_FETCH_BACKOFF_MS = 5 * 60_000;

interface Target {
  opened: OpenedFleetSource;
  fleet: DesiredFleet;
  revision: string;
  /** The Fleet document's policy sections: what pull requests are planned under. */
  policy: FleetPolicy;
}

/** A plan with the kubeconfig policy of the run that computed it (apply uses the same). */
type Planned = Plan & { kubeconfigs: KubeconfigPolicy };

interface PlannedCluster {
  plan: ClusterPlan;
  revision: string;
  at: string;
}

/** The daemon: start it, let it run, stop it. Implements what the HTTP surface may ask. */
export class Daemon implements DaemonControl {
  private readonly queue: TriggerQueue;
  private readonly now: () => Date;
  private readonly startedAt: Date;
  private target: Target | null = null;
  private latestRevision: string | null = null;
  private invalid: { revision: string; errors: RevisionError[] } | null = null;
  private lastFetchAt: Date | null = null;
  private lastFetchError: string | null = null;
  private fetchFailures = 0;
  private stateLoaded = false;
  private fleetState: FleetState = emptyFleetState();
  private readonly states = new Map<string, ClusterState>();
  private readonly plans = new Map<string, PlannedCluster>();
  private readonly applying = new Set<string>();
  /** Clusters outside their window at a revision, and when the window next opens. */
  private readonly deferred = new Map<string, { revision: string; until: Date | null; reason: string }>();
  private gates: WaveGate[] = [];
  private timers: NodeJS.Timeout[] = [];
  /** Aborted on SIGTERM: clusters stop after the step in progress. */
  private readonly draining = new AbortController();
  /** Aborted when the shutdown timeout is near: every request stops. */
  private readonly hardStop = new AbortController();
  private stopped = false;
  private readonly secrets: string[];
  /** The alert receivers of the target revision's `spec.alerting` (created with the first good revision). */
  private notifier: Notifier | null = null;
  private lastAlertSync = 0;
  /** The pull-request bots, by host. */
  private readonly bots = new Map<"github" | "gitlab", PullRequestBot>();
  private botsStarted = false;
  /** A step ran since the bots last re-planned: their plans saw the clusters before it. */
  private appliedSinceReplan = false;

  constructor(private readonly options: DaemonOptions) {
    this.secrets = Object.entries(options.env)
      .filter(([name, value]) => value !== undefined && value !== "" && (name.startsWith("BOSUN_SECRET_") || SECRET_SETTINGS.includes(name)))
      .map(([, value]) => value ?? "");
    this.now = options.now ?? (() => new Date());
    this.startedAt = this.now();
    this.queue = new TriggerQueue({
      run: async (item) => this.work(item),
      onError: (item, error) => {
        options.log.error({ loop: item.kind, err: this.scrub(asError(error).message) }, `${item.kind} iteration failed; the loop goes on`);
      },
      onDepth: (depth) => {
        options.metrics.setQueueDepth(depth);
      },
    });
    for (const host of options.reviews ?? []) this.bots.set(host.kind, this.reviewBotFor(host));
  }

  private reviewBotFor(host: ScmHost): PullRequestBot {
    const source = this.options.source;
    if (!("repo" in source)) throw new InvalidInputError("the pull-request bot plans heads fetched from the fleet repository: give --repo, not --fleet");
    return new PullRequestBot({
      host,
      baseRef: source.ref.replace(/^refs\/heads\//, ""),
      base: () => (this.target === null ? null : { revision: this.target.revision, fleet: this.target.fleet.name, policy: this.target.policy }),
      plan: (ref, base) =>
        planPullRequest({
          repo: source.repo,
          ref,
          base,
          env: this.options.env,
          policy: this.options.policy,
          clusterTimeoutMs: this.options.clusterTimeoutMs,
          now: this.now(),
          renderCache: processRenderCache(),
        }),
      publicUrl: () => this.options.publicUrl?.(),
      log: this.options.log.child({ component: "pull-requests" }),
      scrub: (text) => this.scrub(text),
      onPublished: (outcome, seconds) => {
        this.options.metrics.observePullRequestPlan(host.kind, outcome, seconds);
      },
    });
  }

  /** Joins the replicas, then starts the loops; the first reconcile begins at once. */
  async start(): Promise<void> {
    await this.options.membership.start();
    // Replicas that were already running let go of what this one now owns at their next heartbeat: wait it
    // out, so a start does not race them for every lock (the lock would still fence the writes).
    if (this.options.settleMs) await new Promise((resolve) => setTimeout(resolve, this.options.settleMs));
    this.options.membership.onChange(() => {
      this.options.log.info({ replicas: this.options.membership.replicas() }, "replicas changed");
      this.queue.request("reconcile", "replicas changed");
    });
    this.queue.request("reconcile", "start");
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.intervalMs, () => {
      this.queue.request("reconcile", "interval");
    });
    every(this.options.driftIntervalMs, () => {
      this.queue.request("drift", "drift interval");
    });
    every(SHARED_REFRESH_MS, () => {
      void this.refreshShared().catch((error: unknown) => {
        this.options.log.debug({ err: this.scrub(asError(error).message) }, "reading the shared state failed");
      });
    });
  }

  /**
   * With other replicas, what they write (their clusters' documents, approvals, pauses, halts) is read
   * every few seconds: the status page shows it, and a wave this replica has clusters in starts as soon as
   * the earlier wave, owned elsewhere, is done — not at the next interval.
   */
  private async refreshShared(): Promise<void> {
    const target = this.target;
    if (target === null || this.stopped || this.options.membership.replicas().length < 2) return;
    const decisions = (): string => JSON.stringify(this.gates.map((g) => [g.wave, g.plan, g.apply]));
    const before = decisions();
    await this.loadFleetState();
    await this.readClusterStates(target.fleet);
    this.gates = this.computeGates(target);
    if (decisions() !== before) this.queue.request("reconcile", "the shared state changed");
  }

  /**
   * Stops taking work; the cluster in progress stops after its current step (the next safe point) and its
   * lock is released; after `timeoutMs` less a margin every request is aborted. Leaves the replicas.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.draining.abort(new RunStoppedError("SIGTERM"));
    const margin = Math.min(5_000, timeoutMs / 4);
    const hard = setTimeout(() => {
      this.hardStop.abort(new RunStoppedError("the shutdown timeout"));
    }, Math.max(0, timeoutMs - margin));
    hard.unref();
    try {
      // Within the timeout: a pull request's plan in flight is waited for at most until the hard stop.
      await Promise.all([this.queue.close(), ...[...this.bots.values()].map((bot) => bot.stop(Math.max(0, timeoutMs - margin)))]);
    } finally {
      clearTimeout(hard);
      await this.notifier?.close().catch(() => undefined);
      await this.options.membership.stop().catch((error: unknown) => {
        this.options.log.warn({ err: asError(error).message }, "could not release this replica's lease");
      });
    }
  }

  /** Resolves when no work runs or waits and every alert it raised or cleared is recorded (tests and the demo). */
  async idle(): Promise<void> {
    await this.queue.idle();
    await Promise.all([...this.bots.values()].map((bot) => bot.idle()));
    await this.notifier?.settled();
  }

  trigger(reason: string): void {
    this.queue.request("reconcile", reason);
  }

  /** Runs a drift check now (the API, tests). */
  checkDrift(reason: string): void {
    this.queue.request("drift", reason);
  }

  private async work(item: WorkItem): Promise<void> {
    this.options.metrics.countTick(item.kind);
    const log = this.options.log.child({ loop: item.kind });
    log.debug({ reasons: item.reasons }, `${item.kind} started`);
    try {
      if (item.kind === "reconcile") await this.reconcile(log);
      else await this.drift(log);
    } finally {
      // Clusters changed (a rollout, a drift corrected): open pull requests were planned against what they were.
      if (this.appliedSinceReplan) {
        this.appliedSinceReplan = false;
        for (const bot of this.bots.values()) bot.replanAll("clusters changed");
      }
    }
  }

  // ---- source ---------------------------------------------------------------------------------------

  private async reconcile(log: Logger): Promise<void> {
    await this.loadFleetState();
    const fetched = await this.fetch(log);
    if (fetched) await this.adopt(fetched, log);
    if (this.target === null) return;
    await this.rollOut(this.target, log);
    if (this.notifier && Date.now() - this.lastAlertSync > ALERT_SYNC_MS) {
      this.lastAlertSync = Date.now();
      await this.notifier.sync().catch((error: unknown) => {
        log.warn({ err: this.scrub(asError(error).message) }, "alert delivery state could not be synced");
      });
    }
  }

  /** Raises an alert (deduplicated by the notifier); a failure to record it is logged, never thrown. */
  private alert(input: FireInput): void {
    const base = this.options.publicUrl?.();
    const planUrl = input.cluster && base ? `${base.replace(/\/+$/, "")}/clusters/${input.cluster}` : undefined;
    void this.notifier?.fire({ ...input, ...(planUrl && !input.planUrl ? { planUrl } : {}) }).catch((error: unknown) => {
      this.options.log.warn({ err: this.scrub(asError(error).message), alert: input.kind }, "could not raise an alert");
    });
  }

  /** Clears an alert's condition (the notifier sends the resolution once). */
  private clearAlert(ref: ConditionRef): void {
    void this.notifier?.resolve(ref).catch((error: unknown) => {
      this.options.log.warn({ err: this.scrub(asError(error).message), alert: ref.kind }, "could not resolve an alert");
    });
  }

  private async loadFleetState(): Promise<void> {
    this.fleetState = await readState(this.options.store, FLEET_KEY, emptyFleetState);
    this.stateLoaded = true;
  }

  private async fetch(log: Logger): Promise<OpenedFleetSource | null> {
    try {
      const opened = await openFleetSource({ ...this.options.source, env: this.options.env });
      this.lastFetchAt = this.now();
      this.lastFetchError = null;
      this.fetchFailures = 0;
      return opened;
    } catch (error) {
      this.fetchFailures += 1;
      this.lastFetchError = this.scrub(asError(error).message);
      this.options.metrics.countFetch("error");
      const backoff = Math.min(MAX_FETCH_BACKOFF_MS, this.options.intervalMs, 2_000 * 2 ** Math.min(this.fetchFailures, 10));
      log.warn({ err: this.lastFetchError, retryInSeconds: backoff / 1000 }, "fetching the fleet repository failed");
      this.queue.requestAt("reconcile", new Date(this.now().getTime() + backoff), "retry after a failed fetch");
      return null;
    }
  }

  /** Makes a fetched revision the target when it loads; records its errors when it does not. */
  private async adopt(opened: OpenedFleetSource, log: Logger): Promise<void> {
    if ("repo" in this.options.source && opened.revision !== null && opened.revision === this.target?.revision && this.target.opened.dir === opened.dir) {
      this.latestRevision = opened.revision;
      this.options.metrics.countFetch("unchanged");
      return;
    }
    const loaded = await loadFleet(opened.dir, { policy: this.options.policy });
    if (!loaded.ok) {
      const revision = opened.revision ?? "(local directory)";
      if (this.invalid?.revision !== revision) log.warn({ revision, errors: loaded.errors.length }, "the new revision does not load: nothing applied, the target stays");
      this.latestRevision = revision;
      this.invalid = { revision, errors: loaded.errors.map(revisionError) };
      this.options.metrics.countFetch("invalid");
      this.alert({ kind: "invalid-spec", revision, summary: `revision ${revision.slice(0, 12)} of the fleet does not load (${String(loaded.errors.length)} error${loaded.errors.length === 1 ? "" : "s"}): nothing is applied, the last good revision stays the target`, diff: loaded.errors.map(formatIssue).join("\n") });
      this.options.metrics.setRevisionState(true);
      if (this.target === null) await this.recoverLastGood(log);
      return;
    }
    const revision = "repo" in this.options.source && opened.revision !== null ? opened.revision : await directoryRevision(opened.dir, loaded.value);
    this.latestRevision = revision;
    this.invalid = null;
    this.options.metrics.setRevisionState(false);
    this.useAlerting(loaded.value, log);
    this.clearAlert({ kind: "invalid-spec" });
    if (revision === this.target?.revision) {
      this.options.metrics.countFetch("unchanged");
      this.target = { opened, fleet: loaded.value, revision, policy: loaded.policy };
      return;
    }
    this.options.metrics.countFetch("new");
    log.info({ revision, previous: this.target?.revision ?? null }, "new target revision");
    this.target = { opened, fleet: loaded.value, revision, policy: loaded.policy };
    this.deferred.clear();
    this.baseMoved(revision);
    // A halt belongs to its revision: the new one lifts it (its alert resolves).
    for (const halt of this.fleetState.halts) if (halt.revision !== revision) this.clearAlert({ kind: "wave-halted", wave: halt.wave });
    if (this.fleetState.lastGoodRevision !== revision) {
      this.fleetState = await updateState(this.options.store, FLEET_KEY, emptyFleetState, (state) => ({ ...state, lastGoodRevision: revision }));
    }
  }

  /**
   * A new target revision is the new base of every pull request: the first one starts the bots (they list
   * the open requests), a later one plans the open requests again.
   */
  private baseMoved(revision: string): void {
    if (!this.botsStarted) {
      this.botsStarted = true;
      for (const bot of this.bots.values()) void bot.start();
      return;
    }
    for (const bot of this.bots.values()) bot.replanAll(`the base moved to ${revision.slice(0, 12)}`);
  }

  /** The pull-request bot of `kind`, when the daemon has one (the review webhooks). */
  reviewBot(kind: "github" | "gitlab"): PullRequestBot | null {
    return this.bots.get(kind) ?? null;
  }

  /** The target revision's `spec.alerting`: receivers, repeat interval, unreachable-after. */
  private useAlerting(fleet: DesiredFleet, log: Logger): void {
    if (this.notifier) {
      this.notifier.configure(fleet.alerting);
      return;
    }
    this.notifier = new Notifier({
      fleet: fleet.name,
      receivers: fleet.alerting.receivers,
      repeatIntervalSeconds: fleet.alerting.repeatIntervalSeconds,
      unreachableAfterSeconds: fleet.alerting.unreachableAfterSeconds,
      env: this.options.env,
      policy: { allowedSecretEnv: this.options.policy.allowedSecretEnv },
      store: this.options.store,
      log: log.child({ component: "alerts" }),
    });
  }

  /**
   * After a restart whose first fetch is invalid, the last good revision from the state is the target
   * again (a Git source only: a local directory has no history to go back to).
   */
  private async recoverLastGood(log: Logger): Promise<void> {
    const good = this.fleetState.lastGoodRevision;
    if (good === null || !("repo" in this.options.source)) return;
    try {
      const opened = await openFleetSource({ repo: this.options.source.repo, ref: good, env: this.options.env });
      const loaded = await loadFleet(opened.dir, { policy: this.options.policy });
      if (loaded.ok) {
        this.target = { opened, fleet: loaded.value, revision: good, policy: loaded.policy };
        this.baseMoved(good);
        this.useAlerting(loaded.value, log);
        log.info({ revision: good }, "the last good revision is the target again");
      }
    } catch (error) {
      log.warn({ revision: good, err: this.scrub(asError(error).message) }, "the last good revision could not be opened");
    }
  }

  // ---- rollout --------------------------------------------------------------------------------------

  private async readClusterStates(fleet: DesiredFleet): Promise<void> {
    await Promise.all(
      fleet.clusters.map(async (cluster) => {
        // Owned clusters are written only here: the copy in memory is the latest once read.
        if (this.options.membership.owns(cluster.name) && this.states.has(cluster.name)) return;
        this.states.set(cluster.name, await readState(this.options.store, clusterKey(cluster.name), () => emptyClusterState(cluster.name)));
      }),
    );
  }

  private async rollOut(target: Target, log: Logger): Promise<void> {
    const { fleet, revision } = target;
    const names = fleet.clusters.map((c) => c.name);
    this.options.metrics.setOwnership(names, (name) => this.options.membership.owns(name));
    await this.readClusterStates(fleet);
    // One pass over the waves in order: a wave is worked on while it may be planned, and the pass goes on
    // to the next wave only once this one is done. A done wave is still visited: its clusters that were
    // unreachable at this revision are tried again (they do not hold the rollout, but they must converge).
    for (const wave of fleet.waves) {
      this.gates = this.computeGates(target);
      this.scheduleSoakEnd();
      const gate = this.gates.find((g) => g.wave === wave.name);
      if (!gate?.plan || this.stopped) return;
      const retry = wave.clusters.some((name) => this.options.membership.owns(name) && this.states.get(name)?.convergedRevision !== revision);
      if (gate.done && !retry) continue;
      const done = await this.runWave(target, wave.name, gate, log.child({ wave: wave.name, revision }));
      if (!done) return;
    }
    this.gates = this.computeGates(target);
    this.scheduleSoakEnd();
  }

  private computeGates(target: Target): WaveGate[] {
    return waveGates({ waves: target.fleet.waves, revision: target.revision, fleet: this.fleetState, clusters: this.states, rolloutPaused: target.fleet.paused, now: this.now() });
  }

  private scheduleSoakEnd(): void {
    const soak = this.gates.find((g) => g.soakUntil !== null)?.soakUntil;
    if (soak) this.queue.requestAt("reconcile", soak, "a soak ended");
  }

  /**
   * Plans the wave's owned clusters that are not done and applies what may be applied; returns whether
   * the wave is now done (so the next wave may start in this same iteration).
   */
  private async runWave(target: Target, waveName: string, gate: WaveGate, log: Logger): Promise<boolean> {
    const { fleet, revision } = target;
    const wave = fleet.waves.find((w) => w.name === waveName);
    if (!wave) return false;
    const now = this.now();
    const candidates = wave.clusters.filter((name) => {
      if (!this.options.membership.owns(name)) return false;
      const state = this.states.get(name);
      if (state?.convergedRevision === revision) return false;
      const deferred = this.deferred.get(name);
      if (deferred?.revision === revision && (deferred.until === null || deferred.until.getTime() > now.getTime())) return false;
      // A cluster that may not change now is planned once per revision (for the status page), not every tick.
      const waiting = !gate.apply || this.clusterPause(name) !== null;
      if (waiting && this.plans.get(name)?.revision === revision) return false;
      return true;
    });
    if (candidates.length === 0) return gate.done;
    const plan = await this.plan(target, candidates, "reconcile", log);
    if (!plan) return false;
    const work: ClusterPlan[] = [];
    for (const cluster of plan.clusters) {
      if (cluster.status === "in-sync") {
        await this.recordOutcome(cluster.name, revision, { kind: "in-sync" }, 0);
        continue;
      }
      if (cluster.status === "unreachable" || cluster.status === "invalid") {
        await this.recordAttempt(cluster.name, revision, cluster.status, cluster.reason ?? cluster.status);
        continue;
      }
      if (gate.apply && this.clusterPause(cluster.name) === null) work.push(cluster);
    }
    if (work.length > 0) await this.apply(target, plan, work, waveName, log);
    this.gates = this.computeGates(target);
    return this.gates.find((g) => g.wave === waveName)?.done ?? false;
  }

  private clusterPause(name: string): Pause | null {
    return this.fleetState.pauses.find((p) => p.scope === "cluster" && p.name === name) ?? null;
  }

  private async plan(target: Target, clusters: readonly string[], loop: "reconcile" | "drift", log: Logger): Promise<Planned | null> {
    const result = await planFleet({
      source: "repo" in this.options.source ? { repo: this.options.source.repo, ref: target.revision } : { fleet: this.options.source.fleet },
      opened: target.opened,
      loaded: target.fleet,
      clusters,
      env: this.options.env,
      clusterTimeoutMs: this.options.clusterTimeoutMs,
      now: this.now(),
      policy: this.options.policy,
      allowExecPlugins: this.options.allowExecPlugins,
      // One cache for the process: a tick of an unchanged revision renders nothing again.
      renderCache: processRenderCache(),
      onObserved: (observed, ms) => {
        const requests = observed.status === "observed" ? observed.requests.observe + observed.requests.diff : 0;
        this.options.metrics.observePlan(observed.name, loop, ms / 1000, requests);
      },
    });
    if (!result.ok) {
      log.error({ errors: result.errors.length }, "the target revision no longer loads");
      return null;
    }
    const at = this.now().toISOString();
    for (const cluster of result.plan.clusters) {
      this.plans.set(cluster.name, { plan: cluster, revision: target.revision, at });
      this.options.metrics.setPendingSteps(cluster.name, cluster.steps.length);
      this.alertsOfPlan(cluster, target.revision);
    }
    return { ...result.plan, kubeconfigs: result.kubeconfigs };
  }

  /** The alerts a cluster's plan raises or clears: unreachable (after `unreachableAfter`), stale backups. */
  private alertsOfPlan(cluster: ClusterPlan, revision: string): void {
    const notifier = this.notifier;
    if (!notifier) return;
    const fail = (error: unknown): void => {
      this.options.log.warn({ err: this.scrub(asError(error).message), cluster: cluster.name }, "could not record an alert");
    };
    if (cluster.status === "unreachable") {
      void notifier.clusterUnreachable({ cluster: cluster.name, wave: cluster.wave, revision, summary: `${cluster.name} does not answer: ${this.scrub(cluster.reason ?? "unreachable")}` }).catch(fail);
      return;
    }
    void notifier.clusterReachable(cluster.name).catch(fail);
    const stale = cluster.findings.find((f) => f.kind === "backup.stale" || f.kind === "backup.never-succeeded");
    if (stale) this.alert({ kind: "backup-stale", cluster: cluster.name, wave: cluster.wave, revision, summary: `${cluster.name}: ${stale.message}` });
    else if (cluster.status !== "invalid") this.clearAlert({ kind: "backup-stale", cluster: cluster.name });
  }

  /** Applies `work` (clusters of one wave, planned in `plan`) and records every outcome. */
  private async apply(target: Target, planned: Planned, work: readonly ClusterPlan[], waveName: string, log: Logger): Promise<Map<string, ClusterOutcome>> {
    const { fleet, revision } = target;
    const names = work.map((c) => c.name);
    const { kubeconfigs, ...plan } = planned;
    const subPlan: Plan = { ...plan, waves: [{ name: waveName, clusters: names }], clusters: [...work] };
    // No step starts once a cluster's maintenance window closes: applyFleet stops each cluster at its close.
    const runId = newRunId();
    const started = new Map<string, number>();
    log.info({ clusters: names, runId }, "applying");
    try {
      const outcomes = await applyFleet({
        plan: subPlan,
        fleet,
        fleetDir: target.opened.dir,
        env: this.options.env,
        // The plan run's policy: the same kubeconfig files refused, the same plugins allowed.
        kubeconfigs,
        now: this.now,
        sleep: () => Promise.resolve(),
        skipSoak: true,
        repoPolicy: this.options.policy,
        signal: this.hardStop.signal,
        stopBetweenSteps: this.draining.signal,
        runId,
        log: (line) => {
          log.info({ cluster: line.split(":", 1)[0] }, visibleLine(line));
        },
        onEvent: (event) => {
          // A cluster is "applying" while its own run goes on, not while it waits for its wave's turn.
          if (event.kind === "cluster-start") {
            started.set(event.cluster, performance.now());
            this.applying.add(event.cluster);
          }
          if (event.kind === "cluster-end") this.applying.delete(event.cluster);
        },
        onStep: (event) => {
          const stepLog = { cluster: event.cluster, wave: waveName, step: event.step.id, revision };
          if (event.phase === "failed") log.warn({ ...stepLog, detail: event.detail }, `step failed: ${event.step.id}`);
          else log.info({ ...stepLog, ...(event.detail ? { detail: event.detail } : {}) }, `step ${event.phase}: ${event.step.id}`);
          this.options.onStep?.(event);
        },
      });
      for (const [name, outcome] of outcomes) {
        const seconds = (performance.now() - (started.get(name) ?? performance.now())) / 1000;
        this.options.metrics.observeReconcile(name, seconds, outcome.kind);
        if (outcome.kind === "failed" && outcome.step === `${name}/lock`) {
          // Another holder has the cluster's lock: a replica handing the cluster over, or a `bosun apply` from
          // a terminal. Not a failure of the wave: try again once that run had time to end.
          await this.recordAttempt(name, revision, "locked", outcome.reason);
          this.queue.requestAt("reconcile", new Date(this.now().getTime() + LOCKED_RETRY_MS), `${name} was locked by another run`);
          continue;
        }
        await this.recordOutcome(name, revision, outcome, outcome.kind === "converged" ? outcome.steps : 0);
        if (outcome.kind === "deferred") this.deferCluster(target, work.find((c) => c.name === name), outcome.reason);
        if (outcome.kind === "converged") this.clearAlert({ kind: "apply-failed", cluster: name });
        if (outcome.kind === "failed") {
          this.alert({ kind: "apply-failed", cluster: name, wave: waveName, revision, summary: `${name} failed at ${outcome.step}${outcome.phase ? ` (${outcome.phase})` : ""}`, diff: this.scrub(outcome.reason) });
          await this.haltWave(waveName, revision, `${name} failed at ${outcome.step}`, log);
          this.alert({ kind: "wave-halted", wave: waveName, cluster: name, revision, summary: `wave ${waveName} halted at revision ${revision.slice(0, 12)}: ${name} failed at ${outcome.step}; later waves do not start` });
        }
      }
      return outcomes;
    } finally {
      for (const name of names) this.applying.delete(name);
    }
  }

  /** Removes every secret the daemon holds (Git, API and webhook tokens, BOSUN_SECRET_* values) from text. */
  private scrub(text: string): string {
    return scrubSecrets(text, this.secrets);
  }

  private deferCluster(target: Target, cluster: ClusterPlan | undefined, reason: string): void {
    if (!cluster) return;
    const until = nextWindowChange(target.fleet.windows, cluster.name, operationsOf(cluster), this.now());
    this.deferred.set(cluster.name, { revision: target.revision, until, reason });
    if (until) this.queue.requestAt("reconcile", until, `the maintenance window of ${cluster.name} opens`);
  }

  private async haltWave(wave: string, revision: string, cause: string, log: Logger): Promise<void> {
    log.warn({ wave, revision, cause }, "wave halted");
    const at = this.now().toISOString();
    this.fleetState = await updateState(this.options.store, FLEET_KEY, emptyFleetState, (state) =>
      state.halts.some((h) => h.wave === wave && h.revision === revision) ? state : { ...state, halts: [...state.halts.filter((h) => h.wave !== wave), { wave, revision, cause, at }] },
    );
  }

  private async recordAttempt(name: string, revision: string, outcome: string, reason: string): Promise<void> {
    await this.writeCluster(name, (state) => ({ ...state, lastAttempt: { revision, at: this.now().toISOString(), outcome, reason: this.scrub(reason) } }));
  }

  private async recordOutcome(name: string, revision: string, outcome: ClusterOutcome, steps: number): Promise<void> {
    const at = this.now().toISOString();
    const reason = "reason" in outcome ? this.scrub(outcome.reason) : undefined;
    await this.writeCluster(name, (state) => {
      const next: ClusterState = { ...state, lastAttempt: { revision, at, outcome: outcome.kind, steps, ...(reason === undefined ? {} : { reason }) } };
      if (outcome.kind === "converged" || outcome.kind === "in-sync") {
        next.convergedRevision = revision;
        next.convergedAt = at;
      }
      if (outcome.kind === "converged" && steps > 0) next.lastAppliedAt = at;
      return next;
    });
    if (outcome.kind === "converged" && steps > 0) {
      this.options.metrics.setLastApply(name, new Date(at));
      this.appliedSinceReplan = true;
    }
  }

  private async writeCluster(name: string, change: (state: ClusterState) => ClusterState): Promise<void> {
    const next = await updateState(this.options.store, clusterKey(name), () => emptyClusterState(name), change);
    this.states.set(name, next);
  }

  // ---- drift ----------------------------------------------------------------------------------------

  private async drift(log: Logger): Promise<void> {
    const target = this.target;
    if (target === null) return;
    await this.loadFleetState();
    await this.readClusterStates(target.fleet);
    const { revision } = target;
    const converged = target.fleet.clusters
      .filter((c) => this.options.membership.owns(c.name) && this.states.get(c.name)?.convergedRevision === revision && !this.applying.has(c.name))
      .map((c) => c.name);
    if (converged.length === 0) return;
    const plan = await this.plan(target, converged, "drift", log);
    if (!plan) return;
    this.gates = this.computeGates(target);
    for (const cluster of plan.clusters) {
      const state = this.states.get(cluster.name);
      if (!state) continue;
      if (cluster.status === "unreachable" || cluster.status === "invalid") continue;
      // Drift is what steps would revert: a cluster blocked with nothing to revert (nodes not ready, a
      // refused ladder) has not drifted — the plan and the status page say why it is blocked.
      if (cluster.status === "in-sync" || cluster.steps.length === 0) {
        this.clearAlert({ kind: "drift", cluster: cluster.name });
        if (state.drift) {
          log.info({ cluster: cluster.name, revision }, "drift resolved");
          for (const bot of this.bots.values()) bot.replanAll(`${cluster.name} no longer drifts`);
          const resolvedAt = this.now().toISOString();
          await this.writeCluster(cluster.name, (s) => ({ ...s, drift: null, resolvedDrift: s.drift ? { ...s.drift, resolvedAt } : s.resolvedDrift }));
        }
        this.options.metrics.setDrift(cluster.name, false, false);
        continue;
      }
      const fingerprint = driftFingerprint(cluster);
      const fresh = state.drift?.fingerprint !== fingerprint;
      if (fresh) {
        log.warn({ cluster: cluster.name, wave: cluster.wave, revision, steps: cluster.steps.length }, "drift detected");
        // The live clusters are the other input of every pull request's plan.
        for (const bot of this.bots.values()) bot.replanAll(`${cluster.name} drifted`);
        const detectedAt = this.now().toISOString();
        await this.writeCluster(cluster.name, (s) => ({ ...s, drift: { revision, fingerprint, detectedAt, steps: cluster.steps.length, diff: driftDiff(cluster) } }));
      }
      this.options.metrics.setDrift(cluster.name, true, fresh);
      this.alert({ kind: "drift", cluster: cluster.name, wave: cluster.wave, revision, summary: `${cluster.name} drifted from revision ${revision.slice(0, 12)}: ${String(cluster.steps.length)} step${cluster.steps.length === 1 ? "" : "s"} would revert it${desiredCorrects(target.fleet, cluster.name) ? " (drift.correct: reverting)" : ""}`, diff: driftDiff(cluster) });
      const desired = target.fleet.clusters.find((c) => c.name === cluster.name);
      const gate = this.gates.find((g) => g.wave === cluster.wave);
      if (desired?.drift.correct && gate && !gate.halt && !gate.pause && !target.fleet.paused && this.clusterPause(cluster.name) === null) {
        log.info({ cluster: cluster.name, revision }, "correcting drift (drift.correct)");
        const outcomes = await this.apply(target, plan, [cluster], cluster.wave, log);
        if (outcomes.get(cluster.name)?.kind === "converged") {
          const correctedAt = this.now().toISOString();
          await this.writeCluster(cluster.name, (s) => ({ ...s, drift: s.drift ? { ...s.drift, correctedAt } : null }));
        }
      }
    }
  }

  // ---- control --------------------------------------------------------------------------------------

  async approve(wave: string, revision: string, actor: Actor): Promise<Approval> {
    const target = this.requireTarget();
    const desired = target.fleet.waves.find((w) => w.name === wave);
    if (!desired) throw new ControlError(404, `wave ${wave} is not in fleet ${target.fleet.name}`);
    if (desired.apply !== "manual") throw new ControlError(400, `wave ${wave} applies automatically; nothing to approve`);
    const full = [target.revision, this.latestRevision].find((r) => r !== null && revisionMatches(r, revision));
    if (full === undefined || full === null) throw new ControlError(409, `revision ${revision} is not the target revision (${target.revision.slice(0, 12)}); approve the revision the daemon reconciles`);
    if (full !== target.revision) throw new ControlError(409, `revision ${revision} did not load (see the status page); it cannot be approved`);
    const approval: Approval = { wave, revision: full, by: actorText(actor), at: this.now().toISOString() };
    this.fleetState = await updateState(this.options.store, FLEET_KEY, emptyFleetState, (state) => ({ ...state, approvals: [...state.approvals, approval].slice(-MAX_APPROVALS) }));
    this.options.log.info({ wave, revision: full, by: approval.by }, "wave approved");
    this.trigger(`approval of wave ${wave}`);
    return approval;
  }

  async pause(scope: Pause["scope"], name: string, actor: Actor, reason?: string): Promise<Pause> {
    this.checkScope(scope, name);
    const pause: Pause = { scope, name, by: actorText(actor), at: this.now().toISOString(), ...(reason ? { reason: reason.slice(0, 500) } : {}) };
    this.fleetState = await updateState(this.options.store, FLEET_KEY, emptyFleetState, (state) => ({ ...state, pauses: [...state.pauses.filter((p) => !(p.scope === scope && p.name === name)), pause] }));
    this.options.log.info({ scope, name, by: pause.by }, "paused");
    return pause;
  }

  async resume(scope: Pause["scope"], name: string, actor: Actor): Promise<void> {
    this.checkScope(scope, name);
    this.fleetState = await updateState(this.options.store, FLEET_KEY, emptyFleetState, (state) => ({
      ...state,
      pauses: state.pauses.filter((p) => !(p.scope === scope && p.name === name)),
      // Resuming a wave also lifts its halt: the operator has looked at the failure.
      halts: scope === "wave" ? state.halts.filter((h) => h.wave !== name) : state.halts,
    }));
    this.options.log.info({ scope, name, by: actorText(actor) }, "resumed");
    if (scope === "wave") this.clearAlert({ kind: "wave-halted", wave: name });
    this.trigger(`resume of ${scope} ${name}`);
  }

  private requireTarget(): Target {
    if (this.target === null) throw new ControlError(409, "no revision has loaded yet");
    return this.target;
  }

  private checkScope(scope: Pause["scope"], name: string): void {
    const target = this.requireTarget();
    const known = scope === "wave" ? target.fleet.waves.map((w) => w.name) : target.fleet.clusters.map((c) => c.name);
    if (!known.includes(name)) throw new ControlError(404, `${scope} ${name} is not in fleet ${target.fleet.name}`);
  }

  clusterPlan(name: string): ClusterPlan | undefined {
    return this.plans.get(name)?.plan;
  }

  status(): DaemonStatus {
    const target = this.target;
    const membership = this.options.membership;
    const fleet = target?.fleet;
    const gates = new Map(this.gates.map((g) => [g.wave, g]));
    const waves: WaveStatus[] = (fleet?.waves ?? []).map((wave) => {
      const gate = gates.get(wave.name);
      return {
        name: wave.name,
        apply: wave.apply,
        clusters: wave.clusters,
        paused: gate?.pause ?? null,
        halted: gate?.halt ?? null,
        awaitingApproval: gate?.waiting === "awaiting-approval" && wave.clusters.some((c) => (this.plans.get(c)?.plan.steps.length ?? 0) > 0),
        approvals: target ? this.fleetState.approvals.filter((a) => a.wave === wave.name && a.revision === target.revision) : [],
        soakUntil: gate?.soakUntil?.toISOString() ?? null,
      };
    });
    // In rollout order (wave, then name), as the plan lists them.
    const clusters: ClusterStatus[] = (fleet?.waves ?? []).flatMap((wave) => wave.clusters.map((name) => this.clusterStatus(name, wave.name, gates.get(wave.name))));
    return {
      fleet: fleet?.name ?? null,
      source: "repo" in this.options.source ? { location: this.options.source.repo, ref: this.options.source.ref } : { location: this.options.source.fleet, ref: null },
      ready: this.stateLoaded && target !== null,
      notReadyReason: this.notReadyReason(),
      targetRevision: target?.revision ?? null,
      latestRevision: this.latestRevision,
      invalidRevision: this.invalid,
      lastFetchAt: this.lastFetchAt?.toISOString() ?? null,
      lastFetchError: this.lastFetchError,
      rolloutPaused: fleet?.paused ?? false,
      waves,
      clusters,
      replica: { self: membership.self, replicas: membership.replicas(), owned: (fleet?.clusters ?? []).filter((c) => membership.owns(c.name)).map((c) => c.name) },
      queueDepth: this.queue.depth(),
      startedAt: this.startedAt.toISOString(),
    };
  }

  private notReadyReason(): string | null {
    if (!this.stateLoaded) return "the state has not loaded yet";
    if (this.target !== null) return null;
    if (this.lastFetchError !== null) return `no revision has loaded: ${this.lastFetchError}`;
    if (this.invalid !== null) return "no revision has loaded (the latest is invalid)";
    return "fetching the fleet repository";
  }

  private clusterStatus(name: string, wave: string, gate: WaveGate | undefined): ClusterStatus {
    const state = this.states.get(name);
    const planned = this.plans.get(name);
    const revision = this.target?.revision ?? null;
    const deferred = this.deferred.get(name);
    const attempt = state?.lastAttempt ?? null;
    const atTarget = revision !== null && attempt?.revision === revision;
    let phase: ClusterPhase;
    let lastError: string | null = null;
    if (this.applying.has(name)) phase = "applying";
    else if (revision !== null && state?.convergedRevision === revision) phase = state.drift ? "drifted" : "in-sync";
    else if (atTarget && attempt.outcome === "failed") phase = gate?.halt ? "halted" : "failed";
    else if (atTarget && attempt.outcome === "unreachable") phase = "unreachable";
    else if (atTarget && attempt.outcome === "locked") phase = "pending";
    else if (planned?.revision === revision && planned.plan.status === "unreachable") phase = "unreachable";
    else if (planned?.revision === revision && (planned.plan.status === "blocked" || planned.plan.status === "invalid")) phase = "blocked";
    else if (gate?.halt) phase = "halted";
    else if (deferred?.revision === revision) phase = "deferred";
    else if (this.clusterPause(name) !== null || gate?.waiting === "paused") phase = "paused";
    else if (gate?.waiting === "awaiting-approval" && (planned?.plan.steps.length ?? 0) > 0) phase = "awaiting-approval";
    else if (gate?.waiting === "earlier-wave" || gate?.waiting === "soaking") phase = "pending";
    else if (state === undefined && !this.options.membership.owns(name)) phase = "elsewhere";
    else if (planned === undefined && state?.convergedRevision == null) phase = "unknown";
    else phase = "pending";
    if (phase === "pending" && atTarget && attempt.outcome === "locked") lastError = attempt.reason ?? null;
    else if (phase === "pending" && (gate?.waiting === "earlier-wave" || gate?.waiting === "soaking")) lastError = gate.reason;
    else if (phase === "failed" || phase === "halted" || phase === "unreachable") lastError = attempt?.reason ?? planned?.plan.reason ?? gate?.halt?.cause ?? null;
    else if (phase === "blocked") lastError = planned?.plan.reason ?? planned?.plan.steps.find((s) => s.state === "blocked")?.reason ?? null;
    else if (phase === "deferred") lastError = deferred?.reason ?? null;
    else if (phase === "paused" || phase === "awaiting-approval") lastError = this.clusterPause(name) ? `paused by ${this.clusterPause(name)?.by ?? ""}` : gate?.reason ?? null;
    const owner = this.options.membership.replicas().length === 1 ? this.options.membership.self : this.options.membership.owns(name) ? this.options.membership.self : null;
    return {
      name,
      wave,
      phase,
      revision: state?.convergedRevision ?? null,
      pendingSteps: phase === "in-sync" ? 0 : (planned?.plan.steps.length ?? 0),
      lastError,
      drift: state?.drift ?? null,
      nextWindow: deferred?.until?.toISOString() ?? null,
      lastAppliedAt: state?.lastAppliedAt ?? null,
      plannedAt: planned?.at ?? null,
      owner,
    };
  }
}

/**
 * The revision of a fleet directory (`--fleet`): a digest of every file in it, so an edit to an add-on's
 * files is a new revision like an edit to a spec. A tree too large to hash (or with a link out of it) gets a
 * revision of its own at every fetch: planned again each time, never wrongly taken as unchanged.
 */
async function directoryRevision(dir: string, fleet: DesiredFleet): Promise<string> {
  const digest = await treeDigest(dir, dir).catch(() => null);
  if (digest === null) return `dir-unhashed-${createHash("sha256").update(JSON.stringify(fleet)).update(String(Date.now())).digest("hex").slice(0, 16)}`;
  return `dir-${createHash("sha256").update(digest).digest("hex").slice(0, 16)}`;
}

function desiredCorrects(fleet: DesiredFleet, cluster: string): boolean {
  return fleet.clusters.find((c) => c.name === cluster)?.drift.correct ?? false;
}

/** A full commit id matches itself and its prefixes of 7 characters or more. */
function revisionMatches(full: string, given: string): boolean {
  return given.length >= 7 && /^[0-9a-f]+$/i.test(given) && full.toLowerCase().startsWith(given.toLowerCase());
}

function actorText(actor: Actor): string {
  const by = visibleLine(actor.by).slice(0, 100);
  return by.length > 0 && by !== actor.token ? `${actor.token} (${by})` : actor.token;
}

function revisionError(issue: SpecIssue): RevisionError {
  return { file: issue.file, line: issue.line, column: issue.col, message: issue.message, path: issue.path };
}

/** The same drift has the same fingerprint: the steps that would revert it, without volatile text. */
export function driftFingerprint(cluster: ClusterPlan): string {
  return createHash("sha256").update(JSON.stringify(cluster.steps.map((s) => ({ ...s, summary: undefined })))).digest("hex").slice(0, 32);
}

/** The drift's diff as text: each step with its (masked) diff. */
export function driftDiff(cluster: ClusterPlan): string {
  const parts = cluster.steps.map((step) => {
    const diff = "diff" in step && typeof step.diff === "string" && step.diff.length > 0 ? `\n${step.diff}` : "";
    return `${step.id}: ${step.summary}${diff}`;
  });
  const text = parts.join("\n");
  return text.length > 64 * 1024 ? `${text.slice(0, 64 * 1024)}\n… (truncated)` : text;
}
