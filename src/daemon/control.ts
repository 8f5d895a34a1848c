/**
 * The daemon as its HTTP surface sees it: a read model (status of the source, the waves and the clusters,
 * each cluster's latest plan) and the few things an operator may ask of it (approve a manual wave's
 * revision, pause and resume a cluster or a wave, trigger a fetch). The HTTP server, the status page and
 * the JSON API depend on this interface only, never on the loop's internals.
 */
import type { ClusterPlan } from "../plan/types.js";
import type { Approval, DriftRecord, Halt, Pause } from "./state.js";

import type { PullRequestBot } from "./pr-bot.js";

/** What a cluster is doing, as the status page and the JSON API show it (a closed vocabulary). */
export type ClusterPhase =
  /** Converged at the target revision and no drift. */
  | "in-sync"
  /** Converged at the target revision, but the live state moved (a hand edit). */
  | "drifted"
  /** Steps are running now. */
  | "applying"
  /** Has steps for the target revision, waiting its turn (an earlier wave, a soak, the queue). */
  | "pending"
  /** Outside its maintenance window; reconciled when the window opens (`nextWindow`). */
  | "deferred"
  /** Its wave is manual and the target revision is not approved for it. */
  | "awaiting-approval"
  /** Paused (Git's rollout.paused, or the API for it or its wave). */
  | "paused"
  /** Its wave is halted (a cluster of it failed at this revision). */
  | "halted"
  /** Its last apply failed. */
  | "failed"
  /** Could not be reached at the last plan. */
  | "unreachable"
  /** Its plan is blocked or invalid (see `lastError`). */
  | "blocked"
  /** Owned by another replica (the status shown is what the shared state says). */
  | "elsewhere"
  /** Not planned yet since the daemon started. */
  | "unknown";

/** One cluster on the status page. */
export interface ClusterStatus {
  name: string;
  wave: string;
  phase: ClusterPhase;
  /** The revision the cluster converged at, if any. */
  revision: string | null;
  /** Steps the latest plan has for the cluster (pending and blocked). */
  pendingSteps: number;
  /** Why it is not in sync, or what failed last (escaped by the renderer, never a secret). */
  lastError: string | null;
  drift: DriftRecord | null;
  /** When its maintenance window next opens, when deferred (RFC 3339). */
  nextWindow: string | null;
  /** When steps last ran to the end. */
  lastAppliedAt: string | null;
  /** When the latest plan of it was computed. */
  plannedAt: string | null;
  /** The replica that owns it. */
  owner: string | null;
}

/** One wave on the status page. */
export interface WaveStatus {
  name: string;
  apply: "auto" | "manual";
  clusters: string[];
  paused: Pause | null;
  halted: Halt | null;
  /** A manual wave whose target revision is not approved yet. */
  awaitingApproval: boolean;
  /** Approvals of the target revision for this wave. */
  approvals: Approval[];
  /** When the soak after it ends, while it soaks (RFC 3339). */
  soakUntil: string | null;
}

/** A spec error of a revision that did not load (shown on the status page with its file and line). */
export interface RevisionError {
  file: string;
  line: number;
  column: number;
  message: string;
  path: string;
}

/** The whole daemon, for `/api/v1/status` and the status page. */
export interface DaemonStatus {
  /** The fleet's name, once a revision loaded. */
  fleet: string | null;
  /** Where the fleet comes from (a URL without credentials, or a directory) and the ref followed. */
  source: { location: string; ref: string | null };
  ready: boolean;
  /** Why not ready (the first fetch failed, the state did not load). */
  notReadyReason: string | null;
  /** The revision being reconciled to: the last one that loaded without errors. */
  targetRevision: string | null;
  /** The newest revision fetched (may be invalid, then `invalidRevision` says why). */
  latestRevision: string | null;
  invalidRevision: { revision: string; errors: RevisionError[] } | null;
  lastFetchAt: string | null;
  lastFetchError: string | null;
  /** `rollout.paused` in the target revision. */
  rolloutPaused: boolean;
  waves: WaveStatus[];
  clusters: ClusterStatus[];
  replica: { self: string; replicas: string[]; owned: string[] };
  /** Reconciles queued behind the one running (0 or 1: the queue coalesces). */
  queueDepth: number;
  startedAt: string;
}

/** Who asked (the API token's name) and what they said about themselves. */
export interface Actor {
  /** The name of the token the request carried. */
  token: string;
  /** Free text from the client (`--by`, default user@host). */
  by: string;
}

/** A request the daemon refuses, with the HTTP status to answer. */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/** What the HTTP surface may ask of the daemon. */
export interface DaemonControl {
  status(): DaemonStatus;
  /** The latest plan of one cluster (masked), or undefined when it was never planned. */
  clusterPlan(name: string): ClusterPlan | undefined;
  /** Approves `revision` (a full commit id, or a unique prefix of at least 7) for the manual wave `wave`. */
  approve(wave: string, revision: string, actor: Actor): Promise<Approval>;
  /** Pauses a cluster or a wave: no new step starts there until resumed. */
  pause(scope: Pause["scope"], name: string, actor: Actor, reason?: string): Promise<Pause>;
  /** Lifts a pause, or a wave's halt (`scope: "wave"`), and reconciles again. */
  resume(scope: Pause["scope"], name: string, actor: Actor): Promise<void>;
  /** Fetches and reconciles now (a push webhook); coalesced with one already queued. */
  trigger(reason: string): void;
  /** The pull-request bot of a host, or null when none is configured (the review webhooks). */
  reviewBot?(kind: "github" | "gitlab"): PullRequestBot | null;
}
