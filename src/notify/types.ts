/**
 * Alerts as data: what the daemon reports (an {@link AlertEvent}), the receivers it goes to, and the
 * delivery state remembered across restarts. Closed vocabularies throughout, so a receiver's payload and
 * the state document can be checked against them.
 */
import type { AlertKind, DesiredReceiver } from "../spec/types.js";

export type { AlertKind, DesiredReceiver } from "../spec/types.js";

/** Kinds the daemon fires; `drift-resolved` is not fired but sent when a drift's condition clears. */
export type FiringKind = Exclude<AlertKind, "drift-resolved">;

/** How urgent an alert is; Alertmanager's `severity` label and the payload's `severity`. */
export type Severity = "critical" | "warning" | "info";

/** The severity of each kind unless the caller says otherwise. */
export const DEFAULT_SEVERITY: Readonly<Record<AlertKind, Severity>> = {
  drift: "warning",
  "drift-resolved": "info",
  "apply-failed": "critical",
  "wave-halted": "critical",
  "backup-stale": "warning",
  "backup-failed": "critical",
  "invalid-spec": "warning",
  "cluster-unreachable": "critical",
};

/** One alert as a receiver is told of it. */
export interface AlertEvent {
  /** The condition's kind (a resolved drift is reported as `drift-resolved` by the payloads). */
  kind: FiringKind;
  fleet: string;
  /** The cluster it is about; absent for fleet-wide events (an invalid spec, a halted wave). */
  cluster?: string;
  /** The rollout wave's name. */
  wave?: string;
  /** The fleet repository's commit. */
  revision: string;
  /** One sentence a person reads first. */
  summary: string;
  /** What drifted or failed, already masked by the caller (secret data never reaches here unmasked). */
  diff?: string;
  /** Set when `diff` was cut to {@link STORED_MAX_DIFF} when fired (the fingerprint hashes the whole diff). */
  diffTruncated?: true;
  /** The plan on the status page. */
  planUrl?: string;
  severity: Severity;
}

/**
 * The longest diff kept with a condition (characters). The `alerts` document holds every open condition
 * and a ConfigMap holds 1 MiB, so diffs are cut here; the whole plan is behind `planUrl`.
 */
export const STORED_MAX_DIFF = 16_384;

/** What {@link Notifier.fire} takes: the fleet comes from the notifier, the severity defaults by kind. */
export interface FireInput {
  kind: FiringKind;
  cluster?: string;
  wave?: string;
  revision: string;
  summary: string;
  diff?: string;
  planUrl?: string;
  severity?: Severity;
}

/** Which condition {@link Notifier.resolve} clears: the same kind, cluster and wave it was fired with. */
export interface ConditionRef {
  kind: FiringKind;
  cluster?: string;
  wave?: string;
}

/** Whether a condition still holds. */
export type AlertStatus = "firing" | "resolved";

/** What one receiver was last told of one condition. */
export interface DeliveryRecord {
  /** The fingerprint and status it was sent (undefined until the first success). */
  fingerprint?: string;
  status?: AlertStatus;
  sentAt?: string;
  /** How many payloads it was sent for this condition (each repeat counts). */
  sent: number;
  /** The last failed attempt: the receiver is tried again after a pause, never in a hot loop. */
  failedAt?: string;
  /** Why it failed, scrubbed of the receiver's URL and key. */
  error?: string;
}

/** One alerting condition: a kind on a cluster (or wave, or the fleet), firing or resolved. */
export interface AlertCondition {
  /** `kind/cluster/wave` with `-` for what is absent: one condition per key. */
  key: string;
  /** Hash of cluster, wave, kind and diff: the same drift keeps it across ticks and restarts. */
  fingerprint: string;
  status: AlertStatus;
  event: AlertEvent;
  /** When it started firing (kept while only its diff changes, as Alertmanager's `startsAt`). */
  startsAt: string;
  resolvedAt?: string;
  /** Per receiver name. */
  deliveries: Record<string, DeliveryRecord>;
}

/** The format of the `alerts` state document. */
export const ALERTS_FORMAT = 1;

/** The StateStore key of the alert delivery state. */
export const ALERTS_KEY = "alerts";

/** The `alerts` state document. */
export interface AlertsState {
  format: typeof ALERTS_FORMAT;
  /** Sorted by key. */
  conditions: AlertCondition[];
  /** Clusters seen unreachable and since when, before cluster-unreachable fires (`unreachableAfter`). */
  unreachableSince: Record<string, string>;
}

/** An empty `alerts` document. */
export function emptyAlertsState(): AlertsState {
  return { format: ALERTS_FORMAT, conditions: [], unreachableSince: {} };
}

/** A receiver with the variables it reads resolved at send time. */
export interface ResolvedReceiver {
  receiver: DesiredReceiver;
  url: string;
  secret?: string;
}
