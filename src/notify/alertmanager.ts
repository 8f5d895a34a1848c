/**
 * The Alertmanager receiver (API v2): `POST <base>/api/v2/alerts` with one postable alert per condition.
 * Alertmanager identifies an alert by its labels, so they hold only what names the condition (alertname,
 * fleet, cluster, wave, severity); what changes (the diff, the summary) goes in annotations, and an updated
 * diff updates the same alert. Alertmanager expects a firing alert to be posted again and again, each time
 * with an `endsAt` a little ahead (Prometheus re-sends every minute with `endsAt` four intervals ahead):
 * bosun re-posts every {@link alertmanagerRefreshSeconds} with `endsAt` four of those ahead, so alerts of
 * a bosun that stopped expire by themselves; a resolution is a post with `endsAt` at the resolution time.
 */
import { truncateText } from "./condition.js";
import { postJson, type PostResult } from "./http.js";
import type { AlertCondition, AlertKind, AlertStatus, ResolvedReceiver } from "./types.js";
import type { DeliveryContext } from "./webhook.js";

/** The longest diff annotation (characters): Alertmanager keeps every annotation in memory and in its templates. */
export const ALERTMANAGER_MAX_DIFF = 8192;

/** The longest interval between posts of a firing alert, whatever `repeatInterval` says. */
export const ALERTMANAGER_MAX_REFRESH_SECONDS = 300;

/** How often a firing alert is posted again: the repeat interval, at most {@link ALERTMANAGER_MAX_REFRESH_SECONDS}. */
export function alertmanagerRefreshSeconds(repeatIntervalSeconds: number): number {
  return Math.min(repeatIntervalSeconds, ALERTMANAGER_MAX_REFRESH_SECONDS);
}

/** An alert as `POST /api/v2/alerts` takes it (Alertmanager's `postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** `BosunDrift`, `BosunApplyFailed`…: the `alertname` of a kind. */
export function alertName(kind: AlertKind): string {
  return `Bosun${kind
    .split("-")
    .map((part) => `${part.charAt(0).toUpperCase()}${part.slice(1)}`)
    .join("")}`;
}

/** The alert posted for `condition` in `status` at `now`. */
export function postableAlert(condition: AlertCondition, status: AlertStatus, now: Date, refreshSeconds: number): PostableAlert {
  const event = condition.event;
  const labels: Record<string, string> = { alertname: alertName(event.kind), fleet: event.fleet, severity: event.severity };
  // Alertmanager drops labels with empty values; absent ones are left out rather than sent empty.
  if (event.cluster !== undefined) labels.cluster = event.cluster;
  if (event.wave !== undefined) labels.wave = event.wave;
  const annotations: Record<string, string> = { summary: event.summary, revision: event.revision };
  if (event.diff !== undefined && event.diff !== "") annotations.diff = truncateText(event.diff, ALERTMANAGER_MAX_DIFF).text;
  if (event.planUrl !== undefined) annotations.plan_url = event.planUrl;
  const endsAt = status === "resolved" ? (condition.resolvedAt ?? now.toISOString()) : new Date(now.getTime() + 4 * refreshSeconds * 1000).toISOString();
  return { labels, annotations, startsAt: condition.startsAt, endsAt, ...(event.planUrl === undefined ? {} : { generatorURL: event.planUrl }) };
}

/** `<base>/api/v2/alerts`, keeping a path prefix the base has (an Alertmanager behind a proxy). */
export function alertsEndpoint(base: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
  return url.toString();
}

/** Posts the alert to an Alertmanager. */
export async function deliverAlertmanager(target: ResolvedReceiver, condition: AlertCondition, status: AlertStatus, context: DeliveryContext, refreshSeconds: number): Promise<PostResult> {
  const body = JSON.stringify([postableAlert(condition, status, context.now, refreshSeconds)]);
  return postJson({ receiver: target.receiver.name, url: alertsEndpoint(target.url), body, retry: context.retry, sleep: context.sleep, ...(context.signal ? { signal: context.signal } : {}) });
}
