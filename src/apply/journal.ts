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
 * The records as data and the pure reducers live in `journal-state.ts`; this file reads and writes them.
 *
 * The journal is written under the cluster lock (`lock.ts`); writes are still compare-and-swap on the
 * ConfigMap's resourceVersion and retried on conflict, so two writers never lose each other's records.
 */
import type * as k8s from "@kubernetes/client-node";
import { BOSUN_NAMESPACE, JOURNAL_FORMAT_ANNOTATION } from "../constants.js";
import { ensureStateConfigMap, stateConfigMapPath } from "../kube/system.js";
import { BosunError } from "../errors.js";
import { kubeFailure, retryOnConflict } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import {
  DEFAULT_KEEP_RUNS,
  DEFAULT_MAX_BYTES,
  JOURNAL_FORMAT,
  JOURNAL_NAME,
  applyEndRun,
  applyRecord,
  applyRetention,
  decodeJournal,
  encodeJournal,
  encodeStepKey,
  isFinished,
  journalIdentity,
  sortedEntries,
  type JournalEntry,
  type JournalRun,
  type JournalState,
  type RetentionPolicy,
  type RunOutcome,
  type StepRecordState,
} from "./journal-state.js";

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
