/**
 * Kubernetes Events for the steps of a run, written into the target cluster itself: `kubectl get events
 * -n bosun-system` there shows what bosun did to it, when, and why a step failed — for someone who has
 * access to the cluster and not to the daemon's logs.
 *
 * Each {@link StepEvent} becomes one `events.k8s.io/v1` Event in `bosun-system`, regarding the journal
 * ConfigMap (`bosun-journal`: the object that records the same steps), with
 * - `reason` `StepStarted`, `StepSucceeded` or `StepFailed`, `type` `Normal` (or `Warning` for a failure);
 * - `action` the step's kind (`addon.install`, `controlPlane.upgrade`…);
 * - `note` the step id and its summary (started), what it did (succeeded) or why it failed (failed):
 *   messages bosun composed, with control characters escaped and cut to the API's 1 kB limit;
 * - `reportingController` `bosun.dev/bosun` and `reportingInstance` the replica (its pod name);
 * - the name `bosun-<runId>-<n>`, n counting the run's events from 1: unique (a run id is random), and
 *   sorted by name they read in order.
 *
 * Recording is fire-and-forget: a step never waits for its Event, and an Event that cannot be written (RBAC,
 * the lock lost, the cluster gone) is reported through `log` and dropped. Events are written through the
 * run's guarded client, so none is written after the run lost its lock.
 */
import { BOSUN_NAMESPACE, MANAGED_BY_BOSUN } from "../constants.js";
import { asError } from "../errors.js";
import type { KubeObject } from "../kube/rest.js";
import type { StepEvent } from "./execute.js";
import { JOURNAL_NAME } from "./journal-state.js";

/** The `reportingController` of bosun's Events. */
export const REPORTING_CONTROLLER = "bosun.dev/bosun";

/** The API's limit on an Event's `note`, in bytes. */
export const NOTE_LIMIT_BYTES = 1024;

/** The API's limit on `reportingInstance`, in characters. */
const INSTANCE_LIMIT = 128;

/** The Event `reason` of each step phase. */
export const STEP_EVENT_REASONS: Readonly<Record<StepEvent["phase"], string>> = {
  started: "StepStarted",
  succeeded: "StepSucceeded",
  failed: "StepFailed",
};

/** Options of {@link stepEventRecorder}. */
export interface StepEventRecorderOptions {
  /** Who reports: the replica id (the pod name in a cluster), at most 128 characters are kept. */
  reportingInstance: string;
  /** Told when an Event could not be written (never with the Event's content beyond its name). */
  log?: (message: string) => void;
}

/**
 * A `ClusterRun.onStep` listener writing one Event per step event into the step's cluster. It returns at
 * once and never throws; see the module comment.
 */
export function stepEventRecorder(options: StepEventRecorderOptions): (event: StepEvent) => void {
  const counters = new Map<string, number>();
  const log = options.log ?? ((): void => undefined);
  return (event) => {
    try {
      const n = nextNumber(counters, event.runId);
      const object = stepEventObject(event, { name: `bosun-${event.runId}-${n}`, reportingInstance: options.reportingInstance, now: new Date() });
      const collection = `/apis/events.k8s.io/v1/namespaces/${BOSUN_NAMESPACE}/events`;
      void event.rest
        .send({ method: "POST", path: collection, body: JSON.stringify(object), contentType: "application/json" })
        .then((response) => {
          if (response.status < 200 || response.status >= 300) {
            log(`${event.cluster}: could not record event ${object.metadata.name} (${STEP_EVENT_REASONS[event.phase]} ${event.step.id}): HTTP ${response.status}${statusReason(response.body)}`);
          }
        })
        .catch((error: unknown) => {
          log(`${event.cluster}: could not record event ${object.metadata.name} (${STEP_EVENT_REASONS[event.phase]} ${event.step.id}): ${asError(error).message}`);
        });
    } catch (error) {
      log(`${event.cluster}: could not record an event for ${event.step.id}: ${asError(error).message}`);
    }
  };
}

/** How many runs' counters are kept: a daemon runs for months, and an old run sends no more events. */
const KEPT_RUNS = 256;

function nextNumber(counters: Map<string, number>, runId: string): number {
  const n = (counters.get(runId) ?? 0) + 1;
  counters.delete(runId);
  counters.set(runId, n);
  if (counters.size > KEPT_RUNS) {
    const oldest = counters.keys().next().value;
    if (oldest !== undefined) counters.delete(oldest);
  }
  return n;
}

/**
 * The Event for one step event. Pure: the name and the time are the caller's. Exported for tests.
 */
export function stepEventObject(event: Omit<StepEvent, "rest">, at: { name: string; reportingInstance: string; now: Date }): KubeObject {
  const failed = event.phase === "failed";
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: {
      name: at.name,
      namespace: BOSUN_NAMESPACE,
      labels: { ...MANAGED_BY_BOSUN },
    },
    eventTime: microTime(at.now),
    type: failed ? "Warning" : "Normal",
    reason: STEP_EVENT_REASONS[event.phase],
    action: event.step.kind,
    note: noteOf(event),
    regarding: { apiVersion: "v1", kind: "ConfigMap", namespace: BOSUN_NAMESPACE, name: JOURNAL_NAME },
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: at.reportingInstance.slice(0, INSTANCE_LIMIT),
  };
}

function noteOf(event: Omit<StepEvent, "rest">): string {
  const seconds = event.seconds === undefined ? "" : ` (${event.seconds.toFixed(1)} s)`;
  const revision = event.revision === null ? "" : ` at revision ${event.revision}`;
  const what = event.phase === "started" ? event.step.summary : (event.detail ?? event.step.summary);
  const text = event.phase === "failed" ? `${event.step.id} failed${seconds}: ${what}` : `${event.step.id}: ${what}${seconds}`;
  return truncateUtf8(escapeControl(`${text}${revision}; run ${event.runId}`), NOTE_LIMIT_BYTES);
}

/** `MicroTime` as the API server parses it: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Escapes C0, DEL and C1 control characters, so an Event shows as one line in `kubectl get events`. */
function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
}

/**
 * `text` cut to at most `limit` bytes of UTF-8, on a character boundary, ending in `…` when it was cut.
 * Exported for tests.
 */
export function truncateUtf8(text: string, limit: number): string {
  if (Buffer.byteLength(text, "utf8") <= limit) return text;
  const ellipsis = "…";
  const budget = limit - Buffer.byteLength(ellipsis, "utf8");
  let bytes = 0;
  let out = "";
  for (const char of text) {
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > budget) break;
    bytes += size;
    out += char;
  }
  return `${out}${ellipsis}`;
}

function statusReason(body: string): string {
  try {
    const status = JSON.parse(body) as { reason?: unknown };
    return typeof status.reason === "string" ? ` (${status.reason})` : "";
  } catch {
    return "";
  }
}
