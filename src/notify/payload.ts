/**
 * The generic webhook's JSON payload, version `bosun.dev/alert/v1` (schemas/alert.schema.json,
 * docs/alerts.md). One payload per condition change: a firing alert, a repeat of one, or its resolution.
 * Built from data only; the receiver's URL and key are never part of it.
 */
import { truncateText } from "./condition.js";
import { STORED_MAX_DIFF, type AlertCondition, type AlertKind, type AlertStatus, type Severity } from "./types.js";

/** The payload's format; a receiver checks it before reading further. */
export const ALERT_PAYLOAD_VERSION = "bosun.dev/alert/v1";

/** The longest diff a webhook payload carries (characters); longer ones are cut and say so. */
export const WEBHOOK_MAX_DIFF = STORED_MAX_DIFF;

/** The generic webhook payload (schemas/alert.schema.json). */
export interface AlertPayload {
  apiVersion: typeof ALERT_PAYLOAD_VERSION;
  /** The event: the condition's kind, or `drift-resolved` when a drift cleared. */
  event: AlertKind;
  status: AlertStatus;
  /** Stable for the same condition state: receivers may deduplicate on it. */
  fingerprint: string;
  fleet: string;
  cluster?: string;
  wave?: string;
  revision: string;
  severity: Severity;
  summary: string;
  diff?: string;
  /** True when `diff` was cut to {@link WEBHOOK_MAX_DIFF}. */
  diffTruncated: boolean;
  planUrl?: string;
  /** When the condition started firing (RFC 3339). */
  startsAt: string;
  /** When it cleared; only on resolutions. */
  endsAt?: string;
  /** When this payload was sent. */
  sentAt: string;
}

/** The event a condition's resolution is reported as: drift has its own, the others keep their kind. */
export function resolvedEvent(kind: AlertKind): AlertKind {
  return kind === "drift" ? "drift-resolved" : kind;
}

/** The payload telling of `condition` in `status` at `now`. */
export function alertPayload(condition: AlertCondition, status: AlertStatus, now: Date): AlertPayload {
  const event = condition.event;
  const resolved = status === "resolved";
  const diff = event.diff === undefined || resolved ? undefined : truncateText(event.diff, WEBHOOK_MAX_DIFF);
  return {
    apiVersion: ALERT_PAYLOAD_VERSION,
    event: resolved ? resolvedEvent(event.kind) : event.kind,
    status,
    fingerprint: condition.fingerprint,
    fleet: event.fleet,
    ...(event.cluster === undefined ? {} : { cluster: event.cluster }),
    ...(event.wave === undefined ? {} : { wave: event.wave }),
    revision: event.revision,
    severity: resolved ? "info" : event.severity,
    summary: resolved ? resolvedSummary(condition) : event.summary,
    ...(diff === undefined ? {} : { diff: diff.text }),
    diffTruncated: diff === undefined ? false : diff.truncated || event.diffTruncated === true,
    ...(event.planUrl === undefined ? {} : { planUrl: event.planUrl }),
    startsAt: condition.startsAt,
    ...(resolved ? { endsAt: condition.resolvedAt ?? now.toISOString() } : {}),
    sentAt: now.toISOString(),
  };
}

/** The summary of a resolution: what it was, said to be over. */
export function resolvedSummary(condition: AlertCondition): string {
  return `Resolved: ${condition.event.summary}`;
}
