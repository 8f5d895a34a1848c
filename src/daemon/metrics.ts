/**
 * The daemon's Prometheus metrics (`/metrics`), through prom-client, in a registry of their own (nothing
 * global, so two daemons in one test process do not share counters). Labels are cluster and wave names
 * (DNS-1123, from the spec: bounded by the fleet) and closed vocabularies; never a message, a revision or
 * anything a secret could hide in.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { renderStats } from "../addons/render-cache.js";
import { chartFetchStats } from "../source/chart-fetch.js";

/** Seconds buckets for plans and reconciles: a plan of a cluster takes 0.1–10 s, an upgrade minutes. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Every metric the daemon exports, with the methods the loop calls. */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly reconcileSeconds: Histogram<"cluster" | "outcome">;
  private readonly planSeconds: Histogram<"cluster" | "loop">;
  private readonly pendingSteps: Gauge<"cluster">;
  private readonly drifted: Gauge<"cluster">;
  private readonly driftDetected: Counter<"cluster">;
  private readonly lastApply: Gauge<"cluster">;
  private readonly fetchErrors: Counter;
  private readonly fetches: Counter<"result">;
  private readonly queueDepth: Gauge;
  private readonly owned: Gauge<"cluster">;
  private readonly apiRequests: Counter<"cluster" | "loop">;
  private readonly revisionInfo: Gauge<"state">;
  private readonly ticks: Counter<"loop">;
  private readonly reviewSeconds: Histogram<"host" | "outcome">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "bosun_" });
    this.reconcileSeconds = new Histogram({ name: "bosun_reconcile_duration_seconds", help: "Time to apply one cluster's plan (steps run), by outcome.", labelNames: ["cluster", "outcome"], buckets: DURATION_BUCKETS, registers });
    this.planSeconds = new Histogram({ name: "bosun_plan_duration_seconds", help: "Time to observe and plan one cluster, by loop (reconcile or drift).", labelNames: ["cluster", "loop"], buckets: DURATION_BUCKETS, registers });
    this.pendingSteps = new Gauge({ name: "bosun_pending_steps", help: "Steps the latest plan of the cluster has (pending and blocked).", labelNames: ["cluster"], registers });
    this.drifted = new Gauge({ name: "bosun_drift", help: "1 while the cluster drifts from the revision it converged at, else 0.", labelNames: ["cluster"], registers });
    this.driftDetected = new Counter({ name: "bosun_drift_detected_total", help: "Drifts detected (a new drift fingerprint) per cluster.", labelNames: ["cluster"], registers });
    this.lastApply = new Gauge({ name: "bosun_last_successful_apply_timestamp_seconds", help: "When steps last ran to the end on the cluster (Unix time).", labelNames: ["cluster"], registers });
    this.fetchErrors = new Counter({ name: "bosun_source_fetch_errors_total", help: "Fetches of the fleet repository that failed.", registers });
    this.fetches = new Counter({ name: "bosun_source_fetches_total", help: "Fetches of the fleet repository, by result (new revision, unchanged, invalid, error).", labelNames: ["result"], registers });
    this.queueDepth = new Gauge({ name: "bosun_queue_depth", help: "Work items queued behind the one running (the queue coalesces).", registers });
    this.owned = new Gauge({ name: "bosun_shard_owned", help: "1 when this replica owns the cluster, else 0.", labelNames: ["cluster"], registers });
    this.apiRequests = new Counter({ name: "bosun_api_requests_total", help: "Kubernetes API requests bosun sent to a cluster to observe and plan it, by loop.", labelNames: ["cluster", "loop"], registers });
    this.revisionInfo = new Gauge({ name: "bosun_revision_info", help: "1 for the state the fetched revision is in: target (reconciled to), invalid (latest, refused).", labelNames: ["state"], registers });
    // Read from the render cache's own counters when scraped: helm and kustomize processes started, and
    // renders served from the cache (an idle daemon's spawns stay flat).
    new Gauge({
      name: "bosun_render_spawns",
      help: "helm and kustomize processes started to render add-ons since the process started, by tool.",
      labelNames: ["tool"],
      registers,
      collect() {
        const stats = renderStats();
        this.set({ tool: "helm" }, stats.spawns.helm);
        this.set({ tool: "kustomize" }, stats.spawns.kustomize);
      },
    });
    new Gauge({
      name: "bosun_render_cache",
      help: "The render cache since the process started: hits, misses, uncacheable renders, evictions, entries and bytes held.",
      labelNames: ["counter"],
      registers,
      collect() {
        const stats = renderStats();
        for (const counter of ["hits", "misses", "uncacheable", "evictions", "entries", "bytes"] as const) this.set({ counter }, stats[counter]);
      },
    });
    // The chart fetcher's own counters: what the repositories and registries were asked for (an idle daemon
    // with an unchanged repository adds index_not_modified only).
    new Gauge({
      name: "bosun_chart_fetches",
      help: "Chart repository and registry requests since the process started: index requests, indexes not modified (304), archive downloads, archives found in the cache, OCI pulls.",
      labelNames: ["counter"],
      registers,
      collect() {
        this.set({ counter: "index_requests" }, chartFetchStats.indexRequests);
        this.set({ counter: "index_not_modified" }, chartFetchStats.indexNotModified);
        this.set({ counter: "downloads" }, chartFetchStats.chartDownloads);
        this.set({ counter: "cache_hits" }, chartFetchStats.cacheHits);
        this.set({ counter: "oci_pulls" }, chartFetchStats.ociPulls);
      },
    });
    this.reviewSeconds = new Histogram({ name: "bosun_pull_request_plan_duration_seconds", help: "Time from a pull request's turn to its plan published (or found unchanged, or failed), by host and outcome.", labelNames: ["host", "outcome"], buckets: DURATION_BUCKETS, registers });
    this.ticks = new Counter({ name: "bosun_loop_iterations_total", help: "Iterations of each loop (reconcile, drift), failed ones included.", labelNames: ["loop"], registers });
  }

  /** One pull request's plan was published, found unchanged, or failed. */
  observePullRequestPlan(host: "github" | "gitlab", outcome: "created" | "updated" | "unchanged" | "failed", seconds: number): void {
    this.reviewSeconds.observe({ host, outcome }, seconds);
  }

  /** One cluster's apply ended. */
  observeReconcile(cluster: string, seconds: number, outcome: string): void {
    this.reconcileSeconds.observe({ cluster, outcome }, seconds);
  }

  /** One cluster was observed and planned, with the API requests that took. */
  observePlan(cluster: string, loop: "reconcile" | "drift", seconds: number, requests: number): void {
    this.planSeconds.observe({ cluster, loop }, seconds);
    this.apiRequests.inc({ cluster, loop }, requests);
  }

  /** The latest plan's step count. */
  setPendingSteps(cluster: string, steps: number): void {
    this.pendingSteps.set({ cluster }, steps);
  }

  /** Whether the cluster drifts; `fresh` counts a newly detected drift. */
  setDrift(cluster: string, drifting: boolean, fresh: boolean): void {
    this.drifted.set({ cluster }, drifting ? 1 : 0);
    if (fresh) this.driftDetected.inc({ cluster });
  }

  /** Steps ran to the end at `at`. */
  setLastApply(cluster: string, at: Date): void {
    this.lastApply.set({ cluster }, at.getTime() / 1000);
  }

  /** A fetch ended. */
  countFetch(result: "new" | "unchanged" | "invalid" | "error"): void {
    this.fetches.inc({ result });
    if (result === "error") this.fetchErrors.inc();
  }

  /** The queue's depth changed. */
  setQueueDepth(depth: number): void {
    this.queueDepth.set(depth);
  }

  /** This replica's shard: 1 for every cluster it owns, 0 for the others. */
  setOwnership(clusters: readonly string[], owns: (cluster: string) => boolean): void {
    this.owned.reset();
    for (const cluster of clusters) this.owned.set({ cluster }, owns(cluster) ? 1 : 0);
  }

  /** Whether the newest fetched revision is the target or was refused as invalid. */
  setRevisionState(invalid: boolean): void {
    this.revisionInfo.set({ state: "target" }, invalid ? 0 : 1);
    this.revisionInfo.set({ state: "invalid" }, invalid ? 1 : 0);
  }

  /** One iteration of a loop ran. */
  countTick(loop: "reconcile" | "drift"): void {
    this.ticks.inc({ loop });
  }

  /** The exposition for `/metrics`. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
