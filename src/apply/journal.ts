/**
 * The apply journal of one cluster: which plan steps bosun started, finished or failed there, recorded
 * before and after each step acts, so that an apply interrupted by a crash resumes at the interrupted step
 * and never repeats a finished one (ARCHITECTURE invariant 6). It lives in the target cluster — not on the
 * machine that ran the apply — because the re-run may start anywhere (another CI runner, the daemon).
 *
 * Format — the ConfigMap `bosun-system/bosun-journal`, labelled `app.kubernetes.io/managed-by: bosun` and
 * annotated `bosun.dev/journal-format: "1"`:
 *
 * ```yaml
 * data:
 *   _runs: '[{"runId":"9f1c2a3b4d5e","seq":7,"planRevision":"3f2a…","startedAt":"2025-06-01T12:03:10.000Z"}]'
 *   prod-eu-1_2FcontrolPlane.upgrade_2F1.35.0: '{"state":"started","runId":"9f1c2a3b4d5e","planRevision":"3f2a…","fingerprint":"sha256:…","at":"…","attempts":1}'
 * ```
 *
 * - One key per step id ({@link encodeStepKey}) holding the step's latest record: `state` (`started`,
 *   `succeeded` or `failed`), the run that wrote it, the plan revision, the step's `fingerprint`, when,
 *   how many times it was started with that fingerprint (`attempts`: a step that crashed its run twice is
 *   worth a look before a third try) and an optional one-line `detail` of at most 200 characters.
 *   `detail` is a message bosun composed — never a tool's output, a diff or a value — so the journal holds
 *   no secret data.
 * - `_runs`: the runs that wrote it, in start order (`seq`), each marked `endedAt`/`outcome` when it ended
 *   normally. `_` followed by a non-hex letter never results from {@link encodeStepKey}, so reserved keys
 *   cannot collide with step keys.
 *
 * When a step counts as finished ({@link isFinished}): its latest record is `succeeded`, its fingerprint
 * equals the one the caller has now, and the run that recorded it has not ended. The fingerprint ties the
 * record to the step's content: the same id with a different target (a new chart version, another
 * schedule) has another fingerprint and runs again. The run condition limits the journal to its purpose,
 * resuming an interrupted run: once a run ends (`endRun`), its steps are history, so a later drift repair
 * with an identical step (a CronJob deleted by hand, recreated by the same `backup.schedule` step) is
 * carried out rather than skipped. When in doubt — an unreadable record, a run no longer listed — a step is
 * not finished: repeating an idempotent step is safe, skipping a needed one is not.
 *
 * Retention ({@link applyRetention}), applied on every write: keep the runs among the last `keepRuns` (10)
 * to start, the current run, and any run that has not ended and still owns a record (a resume point);
 * drop the records of every other run. If the data still exceeds `maxBytes` (512 KiB, half a ConfigMap's
 * 1 MiB limit, leaving room for metadata and managed fields), drop whole runs oldest first — ended ones,
 * then unended ones — never the current run. Runs are ordered by `seq`, not by clock, so a skewed clock on
 * one machine cannot make the journal drop the wrong runs.
 *
 * The journal is written under the cluster lock (`lock.ts`); writes are still compare-and-swap on the
 * ConfigMap's resourceVersion and retried on conflict, so two writers never lose each other's records.
 */
import { createHash } from "node:crypto";
import type * as k8s from "@kubernetes/client-node";
import { BOSUN_NAMESPACE, ensureStateConfigMap, stateConfigMapPath } from "../kube/system.js";
import { BosunError, InvalidInputError } from "../errors.js";
import { kubeFailure, retryOnConflict } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import type { Step } from "../plan/types.js";

/** Name of the journal ConfigMap in `bosun-system`. */
export const JOURNAL_NAME = "bosun-journal";
/** Annotation naming the format of the journal's records. */
export const JOURNAL_FORMAT_ANNOTATION = "bosun.dev/journal-format";
/** The record format this module reads and writes. */
export const JOURNAL_FORMAT = "1";
/** The reserved key holding the run list. */
export const RUNS_KEY = "_runs";
/** Longest `detail` kept; longer ones are cut. */
export const MAX_DETAIL_LENGTH = 200;
/** Runs kept by default (see the module comment). */
export const DEFAULT_KEEP_RUNS = 10;
/** Data size kept under by default, in bytes. */
export const DEFAULT_MAX_BYTES = 512 * 1024;
/** Longest ConfigMap key the API server accepts. */
const MAX_KEY_LENGTH = 253;

/** What happened to a step. */
export type StepRecordState = "started" | "succeeded" | "failed";

/** A step's latest record. */
export interface JournalEntry {
  stepId: string;
  state: StepRecordState;
  /** The run that wrote the record. */
  runId: string;
  /** The plan's Git revision, null for a local fleet directory. */
  planRevision: string | null;
  /** The step's content hash as the caller computed it ({@link stepFingerprint}); absent when none was given. */
  fingerprint?: string;
  /** When it was recorded (RFC 3339, UTC). */
  at: string;
  /** Times the step was started with this fingerprint. */
  attempts: number;
  /** One line, at most {@link MAX_DETAIL_LENGTH} characters, no secret data. */
  detail?: string;
}

/** A run that wrote to the journal. */
export interface JournalRun {
  runId: string;
  /** Start order among the journal's runs. */
  seq: number;
  planRevision: string | null;
  startedAt: string;
  /** Set when the run ended normally; a run without it crashed or is still running. */
  endedAt?: string;
  outcome?: RunOutcome;
}

/** How a run ended. */
export type RunOutcome = "succeeded" | "failed";

/** The decoded journal. */
export interface JournalState {
  /** In `seq` order. */
  runs: JournalRun[];
  /** By step id. */
  entries: Map<string, JournalEntry>;
  /** Keys this version does not understand (a hand edit, an unreadable record): kept as they are. */
  other: Record<string, string>;
}

/** How to open a journal. */
export interface JournalOptions {
  /** This run's id (`newRunId()` in `lock.ts`, the same as in its lock holder identity). */
  runId: string;
  /** The plan's revision. */
  planRevision: string | null;
  /** The clock (tests move it); the real one by default. */
  now?: () => Date;
  /** Retention: runs kept. */
  keepRuns?: number;
  /** Retention: data size kept under, in bytes. */
  maxBytes?: number;
}

/** What the caller may add to a record. */
export interface RecordOptions {
  /** The step's content hash ({@link stepFingerprint}). */
  fingerprint?: string;
  /** One line for people; cut to {@link MAX_DETAIL_LENGTH}. Never tool output or values: no secrets. */
  detail?: string;
}

/** One cluster's journal, as seen by one run. Every read is a fresh GET: another process may have written. */
export interface Journal {
  readonly cluster: string;
  readonly runId: string;
  /**
   * Records a step's state (creating `bosun-system` and the ConfigMap when missing) and applies retention.
   * Records of one Journal are written one at a time, in call order.
   */
  record(stepId: string, state: StepRecordState, options?: RecordOptions): Promise<JournalEntry>;
  /** The step's latest record, if any. */
  get(stepId: string): Promise<JournalEntry | undefined>;
  /** Every step's latest record, oldest first (then by step id). */
  entries(): Promise<JournalEntry[]>;
  /** The runs the journal knows, in start order. */
  runs(): Promise<JournalRun[]>;
  /** Whether the step finished in a run that has not ended, with this fingerprint when one is given. */
  finished(stepId: string, fingerprint?: string): Promise<boolean>;
  /**
   * Marks this run — and every earlier run that never ended (they crashed: the caller holds the lock, so
   * none is still running) — as ended: their records stop counting as finished.
   */
  endRun(outcome: RunOutcome): Promise<void>;
}

/** The identity string of a cluster's journal (ARCHITECTURE invariant 4). */
export function journalIdentity(cluster: string): string {
  return `${cluster}:ConfigMap/${BOSUN_NAMESPACE}/${JOURNAL_NAME}`;
}

/**
 * A step id as a ConfigMap key (`[-._a-zA-Z0-9]+`, at most 253 characters, not starting with `.`). Pure
 * and reversible ({@link decodeStepKey}): letters, digits, `-` and `.` stay; every other UTF-8 byte
 * (`/` included), `_` itself and a leading `.` become `_` and two upper-case hex digits. So
 * `prod-eu-1/controlPlane.upgrade/1.35.0` is `prod-eu-1_2FcontrolPlane.upgrade_2F1.35.0`: still readable
 * in `kubectl get -o yaml`. (Replacing `/` by `..` would not be reversible, since ids may contain dots,
 * and a key may not start with `..`.)
 */
export function encodeStepKey(stepId: string): string {
  if (stepId === "") throw new InvalidInputError("a step id cannot be empty");
  let key = "";
  for (const byte of Buffer.from(stepId, "utf8")) {
    const char = String.fromCharCode(byte);
    const plain = /^[-.a-zA-Z0-9]$/.test(char) && !(key === "" && char === ".");
    key += plain ? char : `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidInputError(`step id ${stepId} is too long for a journal key (${key.length} characters encoded, at most ${MAX_KEY_LENGTH})`);
  }
  return key;
}

/** The step id a key encodes, or undefined when it is not one {@link encodeStepKey} makes (a reserved key). Pure. */
export function decodeStepKey(key: string): string | undefined {
  if (!/^(?:[-.a-zA-Z0-9]|_[0-9A-F]{2})+$/.test(key)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < key.length; ) {
    if (key[i] === "_") {
      bytes.push(Number.parseInt(key.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(key.charCodeAt(i));
      i += 1;
    }
  }
  let id: string;
  try {
    id = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  // Only the canonical spelling counts (`_41` for `A` is not), so one id has exactly one key.
  return encodeStepKey(id) === key ? id : undefined;
}

/** A short, stable hash of any JSON value (keys sorted first), for fingerprints. Pure. */
export function fingerprint(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 32)}`;
}

/**
 * The default fingerprint of a plan step: every field but its presentation (`state`, `summary`,
 * `reason`). Versions, targets, charts, schedules and diffs all count, so a step whose content changed is
 * never taken for finished; the worst a live-state field (a diff) can do is make a step run again, which
 * is safe because steps are idempotent.
 */
export function stepFingerprint(step: Step): string {
  const { state: _state, summary: _summary, reason: _reason, ...content } = step;
  return fingerprint(content);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${fields.join(",")}}`;
  }
  // JSON.stringify(undefined) is undefined at run time, whatever its declared type says.
  return value === undefined ? "null" : JSON.stringify(value);
}

/** A detail as stored: one line, whitespace collapsed, cut to {@link MAX_DETAIL_LENGTH} characters. Pure. */
export function shortDetail(detail: string): string {
  const line = detail.replace(/\s+/g, " ").trim();
  return line.length <= MAX_DETAIL_LENGTH ? line : `${line.slice(0, MAX_DETAIL_LENGTH - 1)}…`;
}

/** The parts of the journal ConfigMap this module reads. */
export interface JournalConfigMap {
  metadata?: { annotations?: Record<string, string> | undefined } | undefined;
  data?: Record<string, string> | undefined;
}

/**
 * Decodes the journal. Pure. A record or run list bosun cannot read is kept under `other` and otherwise
 * ignored (its step counts as not finished); only a journal written in another format is an error, since
 * reading it as this one could skip a step.
 */
export function decodeJournal(configMap: JournalConfigMap | null, cluster: string): JournalState {
  const state: JournalState = { runs: [], entries: new Map(), other: {} };
  if (configMap === null) return state;
  const format = configMap.metadata?.annotations?.[JOURNAL_FORMAT_ANNOTATION];
  if (format !== undefined && format !== JOURNAL_FORMAT) {
    const where = journalIdentity(cluster);
    throw new InvalidInputError(`${where}: journal format ${format} is not one this bosun reads (${JOURNAL_FORMAT}); upgrade bosun`, { identity: where });
  }
  for (const [key, value] of Object.entries(configMap.data ?? {})) {
    if (key === RUNS_KEY) {
      const runs = decodeRuns(value);
      if (runs) state.runs = runs;
      else state.other[key] = value;
      continue;
    }
    const stepId = decodeStepKey(key);
    const entry = stepId === undefined ? undefined : decodeEntry(stepId, value);
    if (entry) state.entries.set(entry.stepId, entry);
    else state.other[key] = value;
  }
  return state;
}

function decodeEntry(stepId: string, value: string): JournalEntry | undefined {
  const raw = parseObject(value);
  if (!raw) return undefined;
  const { state, runId, planRevision, fingerprint: print, at, attempts, detail } = raw;
  if (state !== "started" && state !== "succeeded" && state !== "failed") return undefined;
  if (typeof runId !== "string" || typeof at !== "string") return undefined;
  if (planRevision !== null && typeof planRevision !== "string") return undefined;
  if (print !== undefined && typeof print !== "string") return undefined;
  if (detail !== undefined && typeof detail !== "string") return undefined;
  const count = typeof attempts === "number" && Number.isInteger(attempts) && attempts > 0 ? attempts : 1;
  return {
    stepId,
    state,
    runId,
    planRevision,
    ...(print === undefined ? {} : { fingerprint: print }),
    at,
    attempts: count,
    ...(detail === undefined ? {} : { detail }),
  };
}

function decodeRuns(value: string): JournalRun[] | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw)) return undefined;
  const runs: JournalRun[] = [];
  for (const item of raw as unknown[]) {
    const run = item as Partial<Record<keyof JournalRun, unknown>> | null;
    if (typeof run !== "object" || run === null) return undefined;
    if (typeof run.runId !== "string" || typeof run.seq !== "number" || typeof run.startedAt !== "string") return undefined;
    if (run.planRevision !== null && typeof run.planRevision !== "string") return undefined;
    runs.push({
      runId: run.runId,
      seq: run.seq,
      planRevision: run.planRevision,
      startedAt: run.startedAt,
      ...(typeof run.endedAt === "string" ? { endedAt: run.endedAt } : {}),
      ...(run.outcome === "succeeded" || run.outcome === "failed" ? { outcome: run.outcome } : {}),
    });
  }
  return runs.sort((a, b) => a.seq - b.seq);
}

function parseObject(value: string): Record<string, unknown> | undefined {
  try {
    const raw = JSON.parse(value) as unknown;
    return typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The ConfigMap data for a journal state: stable key order within each record. Pure. */
export function encodeJournal(state: JournalState): Record<string, string> {
  const data: Record<string, string> = { ...state.other };
  if (state.runs.length > 0 || RUNS_KEY in data) {
    data[RUNS_KEY] = JSON.stringify(
      state.runs.map((r) => ({
        runId: r.runId,
        seq: r.seq,
        planRevision: r.planRevision,
        startedAt: r.startedAt,
        ...(r.endedAt === undefined ? {} : { endedAt: r.endedAt }),
        ...(r.outcome === undefined ? {} : { outcome: r.outcome }),
      })),
    );
  }
  for (const entry of state.entries.values()) {
    data[encodeStepKey(entry.stepId)] = JSON.stringify({
      state: entry.state,
      runId: entry.runId,
      planRevision: entry.planRevision,
      ...(entry.fingerprint === undefined ? {} : { fingerprint: entry.fingerprint }),
      at: entry.at,
      attempts: entry.attempts,
      ...(entry.detail === undefined ? {} : { detail: entry.detail }),
    });
  }
  return data;
}

/** Size of ConfigMap data as the API server counts it (keys and values, in bytes). Pure. */
export function dataBytes(data: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/** What a run records: the run, the clock reading, and the record. */
export interface RecordChange {
  runId: string;
  planRevision: string | null;
  at: Date;
  stepId: string;
  state: StepRecordState;
  fingerprint?: string | undefined;
  detail?: string | undefined;
}

/** Registers the run if new (next `seq`). Pure: returns a new state. */
export function withRun(state: JournalState, runId: string, planRevision: string | null, at: Date): JournalState {
  if (state.runs.some((r) => r.runId === runId)) return state;
  const seq = Math.max(0, ...state.runs.map((r) => r.seq)) + 1;
  return { ...state, runs: [...state.runs, { runId, seq, planRevision, startedAt: at.toISOString() }] };
}

/**
 * Applies one record. Pure: returns a new state. `attempts` counts the starts of a step with the same
 * fingerprint since it last succeeded; another fingerprint (the step changed) starts the count again.
 */
export function applyRecord(state: JournalState, change: RecordChange): JournalState {
  const withRunState = withRun(state, change.runId, change.planRevision, change.at);
  const previous = withRunState.entries.get(change.stepId);
  const sameStep = previous !== undefined && previous.fingerprint === change.fingerprint;
  let attempts: number;
  if (change.state === "started") attempts = sameStep && previous.state !== "succeeded" ? previous.attempts + 1 : 1;
  else attempts = sameStep ? previous.attempts : 1;
  const entry: JournalEntry = {
    stepId: change.stepId,
    state: change.state,
    runId: change.runId,
    planRevision: change.planRevision,
    ...(change.fingerprint === undefined ? {} : { fingerprint: change.fingerprint }),
    at: change.at.toISOString(),
    attempts,
    ...(change.detail === undefined || change.detail.trim() === "" ? {} : { detail: shortDetail(change.detail) }),
  };
  const entries = new Map(withRunState.entries);
  entries.set(change.stepId, entry);
  return { ...withRunState, entries };
}

/** Marks `runId` (registering it if new) and every earlier unended run as ended. Pure. */
export function applyEndRun(state: JournalState, runId: string, planRevision: string | null, at: Date, outcome: RunOutcome): JournalState {
  const registered = withRun(state, runId, planRevision, at);
  const endedAt = at.toISOString();
  const runs = registered.runs.map((r): JournalRun => {
    if (r.runId === runId) return { ...r, endedAt, outcome };
    // An earlier run that never ended crashed: its records have served (or lost) their purpose.
    return r.endedAt === undefined ? { ...r, endedAt, outcome: "failed" } : r;
  });
  return { ...registered, runs };
}

/** Retention limits. */
export interface RetentionPolicy {
  keepRuns: number;
  maxBytes: number;
}

/** Applies the retention policy of the module comment. Pure: returns a new state. */
export function applyRetention(state: JournalState, currentRunId: string, policy: RetentionPolicy): JournalState {
  const owners = new Set([...state.entries.values()].map((e) => e.runId));
  const lastSeqs = new Set(state.runs.slice(Math.max(0, state.runs.length - policy.keepRuns)).map((r) => r.seq));
  let runs = state.runs.filter((r) => r.runId === currentRunId || lastSeqs.has(r.seq) || (r.endedAt === undefined && owners.has(r.runId)));
  const prune = (kept: JournalRun[]): JournalState => {
    const ids = new Set(kept.map((r) => r.runId));
    return { runs: kept, entries: new Map([...state.entries].filter(([, e]) => ids.has(e.runId))), other: state.other };
  };
  let result = prune(runs);
  // Over budget: drop whole runs, oldest first — ended before unended, never the current one.
  const droppable = [...runs.filter((r) => r.endedAt !== undefined), ...runs.filter((r) => r.endedAt === undefined)].filter((r) => r.runId !== currentRunId);
  for (const victim of droppable) {
    if (dataBytes(encodeJournal(result)) <= policy.maxBytes) break;
    runs = runs.filter((r) => r.runId !== victim.runId);
    result = prune(runs);
  }
  return result;
}

/**
 * Whether a step counts as finished (see the module comment). Pure. Without a fingerprint, only the state
 * and the run are compared.
 */
export function isFinished(state: JournalState, stepId: string, fingerprintNow?: string): boolean {
  const entry = state.entries.get(stepId);
  if (entry?.state !== "succeeded") return false;
  if (fingerprintNow !== undefined && entry.fingerprint !== fingerprintNow) return false;
  const run = state.runs.find((r) => r.runId === entry.runId);
  return run !== undefined && run.endedAt === undefined;
}

/** Every record, oldest first, then by step id. Pure. */
export function sortedEntries(state: JournalState): JournalEntry[] {
  return [...state.entries.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
}

/**
 * Opens a cluster's journal for one run. No request is made until the first call; the ConfigMap is created
 * on the first write.
 */
export function openJournal(rest: KubeRest, cluster: string, options: JournalOptions): Journal {
  // Through KubeRest: a journal write to a cluster that stopped answering fails (unreachable), never hangs,
  // and a write after the run's signal aborted (a lost lock) is never sent.
  const core = rest;
  const now = options.now ?? ((): Date => new Date());
  const policy: RetentionPolicy = { keepRuns: options.keepRuns ?? DEFAULT_KEEP_RUNS, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES };
  const { runId, planRevision } = options;
  let ensured = false;
  // One write at a time per instance: the executor records in order, and a queue keeps this instance's own
  // writes from conflicting with each other.
  let queue: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<JournalState> => decodeJournal(await readConfigMap(core, cluster), cluster);

  const write = <T>(change: (state: JournalState) => { state: JournalState; result: T }): Promise<T> => {
    const run = async (): Promise<T> => {
      if (!ensured) {
        await ensureJournal(core, cluster);
        ensured = true;
      }
      try {
        return await retryOnConflict(async () => {
          let configMap = await readConfigMap(core, cluster);
          if (configMap === null) {
            // Deleted since it was ensured (someone reset the journal): start a new one.
            await ensureJournal(core, cluster);
            configMap = await readConfigMap(core, cluster);
            if (configMap === null) throw new BosunError(`${journalIdentity(cluster)} disappeared while being written; try again`, { reason: "KubeApi", identity: journalIdentity(cluster), retryable: true });
          }
          const { state, result } = change(decodeJournal(configMap, cluster));
          const kept = applyRetention(state, runId, policy);
          configMap.data = encodeJournal(kept);
          const metadata = configMap.metadata ?? {};
          metadata.annotations = { ...metadata.annotations, [JOURNAL_FORMAT_ANNOTATION]: JOURNAL_FORMAT };
          configMap.metadata = metadata;
          // The resourceVersion from the read makes this a compare-and-swap: a concurrent write is a 409.
          await core.replace(stateConfigMapPath(JOURNAL_NAME), configMap, `write ${BOSUN_NAMESPACE}/${JOURNAL_NAME}`);
          return result;
        }, 10, core.signal);
      } catch (error) {
        throw kubeFailure(cluster, `write ${BOSUN_NAMESPACE}/${JOURNAL_NAME}`, error);
      }
    };
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    cluster,
    runId,
    record: async (stepId, state, recordOptions = {}) => {
      encodeStepKey(stepId); // fail before any request on an id that cannot be a key
      return await write((current) => {
        const at = now();
        const next = applyRecord(current, { runId, planRevision, at, stepId, state, fingerprint: recordOptions.fingerprint, detail: recordOptions.detail });
        const entry = next.entries.get(stepId);
        if (!entry) throw new BosunError(`internal error (a bug in bosun): the journal lost the record of ${stepId}`, { reason: "Internal" });
        return { state: next, result: entry };
      });
    },
    get: async (stepId) => (await read()).entries.get(stepId),
    entries: async () => sortedEntries(await read()),
    runs: async () => (await read()).runs,
    finished: async (stepId, fingerprintNow) => isFinished(await read(), stepId, fingerprintNow),
    endRun: (outcome) => write((current) => ({ state: applyEndRun(current, runId, planRevision, now(), outcome), result: undefined })),
  };
}

async function readConfigMap(core: KubeRest, cluster: string): Promise<k8s.V1ConfigMap | null> {
  try {
    return await core.get<k8s.V1ConfigMap>(stateConfigMapPath(JOURNAL_NAME));
  } catch (error) {
    throw kubeFailure(cluster, `read ${BOSUN_NAMESPACE}/${JOURNAL_NAME}`, error);
  }
}

async function ensureJournal(core: KubeRest, cluster: string): Promise<void> {
  try {
    await ensureStateConfigMap(core, JOURNAL_NAME, { [JOURNAL_FORMAT_ANNOTATION]: JOURNAL_FORMAT });
  } catch (error) {
    throw kubeFailure(cluster, `create ${BOSUN_NAMESPACE}/${JOURNAL_NAME}`, error);
  }
}
