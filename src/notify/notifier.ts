/**
 * The notifier: turns what the daemon reports (a condition fires, a condition clears) into deliveries to
 * every receiver of `spec.alerting`, deduplicated and remembered.
 *
 * - A condition is a kind on a cluster (or a wave, or the fleet), keyed by {@link conditionKey}; its
 *   fingerprint hashes the cluster, wave, kind and diff. A receiver is sent the condition when it starts
 *   firing or its fingerprint changes, again once the repeat interval passed since it was last sent, and
 *   its resolution when it clears (drift's is `drift-resolved`; Alertmanager gets `endsAt`). Firing the
 *   same condition on every tick sends nothing new.
 * - What each receiver was sent lives in the StateStore under `alerts` ({@link ALERTS_KEY}), written with
 *   `updateState`, so a restarted daemon (or another replica) neither re-sends nor forgets a resolution.
 *   A delivery is recorded only once the receiver took it.
 * - Every change of that state in this process runs one at a time, in the order it was asked for: a
 *   `fire` the daemon issued before a `resolve` is never written after it. A resolution that arrives while
 *   the condition's firing delivery is in flight is sent once that delivery is recorded.
 * - Each receiver has its own bounded queue and worker: one that is down (retrying with backoff) delays no
 *   other. A full queue drops the job, not the condition: the state still says it is owed, and the next
 *   {@link Notifier.sync} queues it again. A receiver that failed is tried again after a pause.
 * - URLs and keys are read from the environment when sending, through the operator's allowed-variable
 *   patterns, and never appear in payloads, logs or errors (messages are scrubbed of them as well).
 */
import { abortableSleep } from "../poll.js";
import type { DesiredAlerting, DesiredReceiver } from "../spec/types.js";
import { envNameAllowed } from "../spec/environment.js";
import { scrubSecrets } from "../scrub.js";
import { readState, updateState, type StateStore } from "../daemon/state.js";
import { asError, BosunError } from "../errors.js";
import { alertmanagerRefreshSeconds, deliverAlertmanager } from "./alertmanager.js";
import { alertFingerprint, conditionKey, truncateText } from "./condition.js";
import { AlertDeliveryError } from "./errors.js";
import { DEFAULT_RETRY, type PostResult, type RetryPolicy, type Sleep } from "./http.js";
import { deliverSlack } from "./slack.js";
import {
  ALERTS_KEY,
  DEFAULT_SEVERITY,
  STORED_MAX_DIFF,
  emptyAlertsState,
  type AlertCondition,
  type AlertEvent,
  type AlertsState,
  type AlertStatus,
  type ConditionRef,
  type FireInput,
  type ResolvedReceiver,
} from "./types.js";
import { deliverWebhook, type DeliveryContext } from "./webhook.js";

/** The few logger methods the notifier uses (a pino Logger has them). */
export interface NotifierLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What a notifier needs. */
export interface NotifierOptions {
  /** The fleet's name, in every alert. */
  fleet: string;
  /** `fleet.alerting.receivers`. */
  receivers: readonly DesiredReceiver[];
  /** `fleet.alerting.repeatIntervalSeconds` (default 4h). */
  repeatIntervalSeconds?: number;
  /** `fleet.alerting.unreachableAfterSeconds` (default 10m). */
  unreachableAfterSeconds?: number;
  /** Where receiver URLs and keys are read at send time (the daemon's `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The operator's allowed-variable patterns (`RepoPolicy.allowedSecretEnv`), checked again at send time. */
  policy: { allowedSecretEnv: readonly string[] };
  store: StateStore;
  log: NotifierLog;
  /** The clock, in ms (default `Date.now`). */
  now?: () => number;
  /** Waits between retries (default a timer); tests pass a fake clock's. */
  sleep?: Sleep;
  /** Retries of one delivery (default {@link DEFAULT_RETRY}). */
  retry?: Partial<RetryPolicy>;
  /** Jobs a receiver's queue holds before it drops new ones (default 256). */
  queueLimit?: number;
  /** How long a receiver that failed rests before it is tried again (default 60s). */
  retryPauseSeconds?: number;
}

/** What a delivery owes a receiver: the status to send, or nothing. */
type Due = { send: AlertStatus } | { record: "resolved" } | null;

interface Queue {
  receiver: DesiredReceiver;
  pending: string[];
  queued: Set<string>;
  worker: Promise<void> | null;
}

const DEFAULT_QUEUE_LIMIT = 256;
const DEFAULT_RETRY_PAUSE_SECONDS = 60;

/** Delivers alerts to the fleet's receivers (see the module's description). */
export class Notifier {
  private readonly options: NotifierOptions;
  private readonly queues = new Map<string, Queue>();
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private repeatSeconds: number;
  private unreachableAfterSeconds: number;
  private readonly abort = new AbortController();
  /** The tail of the chain every state change waits its turn on. */
  private serial: Promise<unknown> = Promise.resolve();
  /** `receiver\0key` of deliveries being sent: their condition stays in the state until they are recorded. */
  private readonly inFlight = new Set<string>();

  constructor(options: NotifierOptions) {
    this.options = options;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? abortableSleep;
    this.repeatSeconds = options.repeatIntervalSeconds ?? 4 * 3600;
    this.unreachableAfterSeconds = options.unreachableAfterSeconds ?? 600;
    for (const receiver of options.receivers) {
      this.queues.set(receiver.name, { receiver, pending: [], queued: new Set(), worker: null });
    }
  }

  /**
   * Takes the alerting of a new revision: receivers added get queues, receivers removed lose theirs (and
   * are owed nothing more), a changed receiver keeps its queue and delivery state under its name.
   */
  configure(alerting: DesiredAlerting): void {
    this.repeatSeconds = alerting.repeatIntervalSeconds;
    this.unreachableAfterSeconds = alerting.unreachableAfterSeconds;
    const names = new Set(alerting.receivers.map((r) => r.name));
    for (const [name, queue] of this.queues) {
      if (names.has(name)) continue;
      queue.pending = [];
      queue.queued.clear();
      this.queues.delete(name);
    }
    for (const receiver of alerting.receivers) {
      const queue = this.queues.get(receiver.name);
      if (queue === undefined) this.queues.set(receiver.name, { receiver, pending: [], queued: new Set(), worker: null });
      else queue.receiver = receiver;
    }
  }

  /**
   * Reports that a condition holds (a drift with its diff, a failed apply…). Records it and queues
   * deliveries for the receivers it is owed to; returns without waiting for them ({@link idle} does).
   */
  async fire(input: FireInput): Promise<void> {
    await this.exclusive(() => this.fireNow(input));
  }

  private async fireNow(input: FireInput): Promise<void> {
    const event: AlertEvent = {
      kind: input.kind,
      fleet: this.options.fleet,
      ...(input.cluster === undefined ? {} : { cluster: input.cluster }),
      ...(input.wave === undefined ? {} : { wave: input.wave }),
      revision: input.revision,
      summary: input.summary,
      ...(input.diff === undefined ? {} : storedDiff(input.diff)),
      ...(input.planUrl === undefined ? {} : { planUrl: input.planUrl }),
      severity: input.severity ?? DEFAULT_SEVERITY[input.kind],
    };
    const key = conditionKey(input);
    const fingerprint = alertFingerprint(input);
    const current = await this.read();
    const known = current.conditions.find((c) => c.key === key);
    // The same condition reported again on the next tick writes nothing: state churn would be a write per tick.
    const unchanged = known !== undefined && known.status === "firing" && known.fingerprint === fingerprint && JSON.stringify(known.event) === JSON.stringify(event);
    const state = unchanged
      ? current
      : await this.update((s) => {
          const at = new Date(this.now()).toISOString();
          const condition = s.conditions.find((c) => c.key === key);
          if (condition === undefined) {
            s.conditions.push({ key, fingerprint, status: "firing", event, startsAt: at, deliveries: {} });
            s.conditions.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          } else {
            if (condition.status === "resolved") condition.startsAt = at;
            condition.status = "firing";
            delete condition.resolvedAt;
            condition.fingerprint = fingerprint;
            condition.event = event;
          }
          return s;
        });
    this.enqueueDue(state, key);
  }

  /** Reports that a condition cleared. Receivers that were told it fires are told it resolved. */
  async resolve(ref: ConditionRef): Promise<void> {
    await this.exclusive(() => this.resolveNow(ref));
  }

  private async resolveNow(ref: ConditionRef): Promise<void> {
    const key = conditionKey(ref);
    const current = await this.read();
    const known = current.conditions.find((c) => c.key === key);
    if (known === undefined || known.status === "resolved") return;
    const state = await this.update((s) => {
      const condition = s.conditions.find((c) => c.key === key);
      if (condition === undefined || condition.status === "resolved") return s;
      condition.status = "resolved";
      condition.resolvedAt = new Date(this.now()).toISOString();
      return this.dropSettled(s);
    });
    this.enqueueDue(state, key);
  }

  /**
   * Reports a cluster that could not be reached. cluster-unreachable fires once it has been unreachable
   * for `unreachableAfter` (remembered across restarts); until then this only notes since when.
   */
  async clusterUnreachable(input: Omit<FireInput, "kind"> & { cluster: string }): Promise<void> {
    await this.exclusive(() => this.clusterUnreachableNow(input));
  }

  private async clusterUnreachableNow(input: Omit<FireInput, "kind"> & { cluster: string }): Promise<void> {
    const cluster = input.cluster;
    let state = await this.read();
    if (state.unreachableSince[cluster] === undefined) {
      const at = new Date(this.now()).toISOString();
      state = await this.update((s) => {
        s.unreachableSince[cluster] ??= at;
        return s;
      });
    }
    const since = Date.parse(state.unreachableSince[cluster] ?? "");
    if (this.now() - since >= this.unreachableAfterSeconds * 1000) await this.fireNow({ ...input, kind: "cluster-unreachable" });
  }

  /** Reports a cluster reached again: forgets since when it was not, resolves cluster-unreachable. */
  async clusterReachable(cluster: string): Promise<void> {
    await this.exclusive(() => this.clusterReachableNow(cluster));
  }

  private async clusterReachableNow(cluster: string): Promise<void> {
    const state = await this.read();
    if (state.unreachableSince[cluster] !== undefined) {
      await this.update((s) => {
        s.unreachableSince = Object.fromEntries(Object.entries(s.unreachableSince).filter(([name]) => name !== cluster));
        return s;
      });
    }
    await this.resolveNow({ kind: "cluster-unreachable", cluster });
  }

  /**
   * Queues every delivery that is owed: repeats whose interval passed, receivers that failed and rested,
   * resolutions a restart left unsent. The daemon calls it on every tick (at least once a minute, so
   * Alertmanager's alerts are refreshed in time).
   */
  async sync(): Promise<void> {
    await this.exclusive(async () => {
      const state = await this.read();
      for (const condition of state.conditions) this.enqueueDue(state, condition.key);
    });
  }

  /** Resolves when every state change asked for so far has been made. */
  async settled(): Promise<void> {
    await this.exclusive(() => Promise.resolve());
  }

  /** Resolves when every queue is empty and no delivery is in flight (tests; a graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await this.settled();
      const running = [...this.queues.values()].flatMap((q) => (q.worker === null ? [] : [q.worker]));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Stops: cancels retries in flight and waits for the workers to end. */
  async close(): Promise<void> {
    this.abort.abort();
    for (const queue of this.queues.values()) {
      queue.pending = [];
      queue.queued.clear();
    }
    await this.idle();
  }

  /** The stored delivery state (the status page may show it). */
  async state(): Promise<AlertsState> {
    return this.read();
  }

  private async read(): Promise<AlertsState> {
    return readState(this.options.store, ALERTS_KEY, emptyAlertsState);
  }

  /** Runs `work` after every state change asked for before it; a failure of one does not stop the next. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async update(change: (state: AlertsState) => AlertsState): Promise<AlertsState> {
    return updateState(this.options.store, ALERTS_KEY, emptyAlertsState, change);
  }

  private enqueueDue(state: AlertsState, key: string): void {
    const condition = state.conditions.find((c) => c.key === key);
    if (condition === undefined) return;
    for (const queue of this.queues.values()) {
      if (this.due(queue.receiver, condition) !== null) this.enqueue(queue, key);
    }
  }

  private enqueue(queue: Queue, key: string): void {
    if (this.abort.signal.aborted || queue.queued.has(key)) return;
    if (queue.pending.length >= (this.options.queueLimit ?? DEFAULT_QUEUE_LIMIT)) {
      this.options.log.warn({ receiver: queue.receiver.name, condition: key }, `alert queue of receiver ${queue.receiver.name} is full; the alert stays owed and is queued again at the next sync`);
      return;
    }
    queue.pending.push(key);
    queue.queued.add(key);
    if (queue.worker === null) this.startWorker(queue);
  }

  private startWorker(queue: Queue): void {
    queue.worker = this.work(queue).finally(() => {
      queue.worker = null;
      // A job queued while the worker was finishing starts the next worker.
      if (queue.pending.length > 0 && !this.abort.signal.aborted) this.startWorker(queue);
    });
  }

  private async work(queue: Queue): Promise<void> {
    for (let key = queue.pending.shift(); key !== undefined; key = queue.pending.shift()) {
      // Taken off the set first: a change while this one is sent queues the condition again.
      queue.queued.delete(key);
      try {
        await this.deliver(queue.receiver, key);
      } catch (error) {
        // A failure is recorded per delivery; this catches only a state store that failed meanwhile.
        this.options.log.warn({ receiver: queue.receiver.name, condition: key, reason: error instanceof BosunError ? error.reason : "Internal" }, `alert delivery state not written: ${this.scrub(asError(error).message, queue.receiver)}`);
      }
    }
  }

  /** What `receiver` is owed of `condition` now. */
  private due(receiver: DesiredReceiver, condition: AlertCondition): Due {
    const delivery = condition.deliveries[receiver.name];
    const nowMs = this.now();
    if (condition.status === "resolved") {
      if (delivery?.status !== "firing") return null;
      // A drift's resolution is its own event: a webhook or chat that did not ask for it is not sent one.
      const wanted = receiver.type === "alertmanager" || condition.event.kind !== "drift" || receiver.events.includes("drift-resolved");
      if (!wanted) return { record: "resolved" };
    } else {
      if (!receiver.events.includes(condition.event.kind)) return null;
      const current = delivery?.status === "firing" && delivery.fingerprint === condition.fingerprint;
      const sentAt = delivery?.sentAt === undefined ? 0 : Date.parse(delivery.sentAt);
      if (current && nowMs - sentAt < this.intervalSeconds(receiver) * 1000) return null;
    }
    if (delivery?.failedAt !== undefined) {
      const failedAt = Date.parse(delivery.failedAt);
      if (nowMs - failedAt < (this.options.retryPauseSeconds ?? DEFAULT_RETRY_PAUSE_SECONDS) * 1000) return null;
    }
    return { send: condition.status };
  }

  private intervalSeconds(receiver: DesiredReceiver): number {
    return receiver.type === "alertmanager" ? alertmanagerRefreshSeconds(this.repeatSeconds) : this.repeatSeconds;
  }

  private async deliver(receiver: DesiredReceiver, key: string): Promise<void> {
    // In flight before the state is read: a resolution committed meanwhile keeps the condition for us.
    const flight = `${receiver.name}\0${key}`;
    this.inFlight.add(flight);
    try {
      await this.deliverNow(receiver, key);
    } finally {
      this.inFlight.delete(flight);
    }
  }

  private async deliverNow(receiver: DesiredReceiver, key: string): Promise<void> {
    const condition = (await this.read()).conditions.find((c) => c.key === key);
    if (condition === undefined) return;
    const due = this.due(receiver, condition);
    if (due === null) return;
    if ("record" in due) {
      await this.record(receiver, key, (d) => ({ ...d, status: "resolved" }));
      return;
    }
    const fields = { receiver: receiver.name, type: receiver.type, event: condition.event.kind, status: due.send, fingerprint: condition.fingerprint, ...(condition.event.cluster ? { cluster: condition.event.cluster } : {}) };
    let target: ResolvedReceiver | undefined;
    try {
      target = this.resolveReceiver(receiver);
      const context: DeliveryContext = { retry: this.retry, sleep: this.sleep, signal: this.abort.signal, now: new Date(this.now()) };
      const result = await this.send(target, condition, due.send, context);
      const sentAt = new Date(this.now()).toISOString();
      await this.record(receiver, key, (d) => ({ fingerprint: condition.fingerprint, status: due.send, sentAt, sent: d.sent + 1 }));
      this.options.log.info({ ...fields, attempts: result.attempts }, `alert ${condition.event.kind} (${due.send}) sent to receiver ${receiver.name}`);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      const message = this.scrub(asError(error).message, receiver, target);
      const failedAt = new Date(this.now()).toISOString();
      await this.record(receiver, key, (d) => ({ ...d, failedAt, error: message }));
      const pause = this.options.retryPauseSeconds ?? DEFAULT_RETRY_PAUSE_SECONDS;
      this.options.log.warn({ ...fields, reason: error instanceof BosunError ? error.reason : "Internal" }, `${message}; tried again in ${String(pause)}s at the next sync`);
    }
  }

  private async send(target: ResolvedReceiver, condition: AlertCondition, status: AlertStatus, context: DeliveryContext): Promise<PostResult> {
    switch (target.receiver.type) {
      case "webhook":
        return deliverWebhook(target, condition, status, context);
      case "alertmanager":
        return deliverAlertmanager(target, condition, status, context, alertmanagerRefreshSeconds(this.repeatSeconds));
      case "slack":
        return deliverSlack(target, condition, status, context);
    }
  }

  /**
   * Records what `receiver` was sent of `key`, in turn with every other change; a change that came while it
   * was being sent (a resolution, a new diff) is owed now and queued again.
   */
  private async record(receiver: DesiredReceiver, key: string, change: (d: { sent: number } & AlertCondition["deliveries"][string]) => AlertCondition["deliveries"][string]): Promise<void> {
    await this.exclusive(async () => {
      const state = await this.update((s) => {
        const condition = s.conditions.find((c) => c.key === key);
        if (condition === undefined) return s;
        condition.deliveries[receiver.name] = change(condition.deliveries[receiver.name] ?? { sent: 0 });
        return this.dropSettled(s, `${receiver.name}\0${key}`);
      });
      const condition = state.conditions.find((c) => c.key === key);
      const queue = this.queues.get(receiver.name);
      if (condition !== undefined && queue !== undefined && this.due(queue.receiver, condition) !== null) this.enqueue(queue, key);
    });
  }

  /**
   * Drops resolved conditions no current receiver still believes firing and none is being sent (`done`,
   * the delivery being recorded, counts as sent): nothing more is owed for them.
   */
  private dropSettled(state: AlertsState, done?: string): AlertsState {
    const receivers = new Set(this.queues.keys());
    const sending = (key: string): boolean => [...receivers].some((name) => `${name}\0${key}` !== done && this.inFlight.has(`${name}\0${key}`));
    state.conditions = state.conditions.filter((c) => c.status === "firing" || sending(c.key) || Object.entries(c.deliveries).some(([name, d]) => receivers.has(name) && d.status === "firing"));
    return state;
  }

  /** The receiver's URL and key, read now, through the operator's patterns (a spec may have changed since). */
  private resolveReceiver(receiver: DesiredReceiver): ResolvedReceiver {
    const url = this.readVariable(receiver, receiver.urlFromEnv, "URL");
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http(s)");
    } catch {
      throw new AlertDeliveryError(receiver.name, `${receiver.urlFromEnv} does not hold an http or https URL`, { reason: "InvalidInput", retryable: false });
    }
    const secret = receiver.type === "webhook" && receiver.secretFromEnv !== undefined ? this.readVariable(receiver, receiver.secretFromEnv, "signing key") : undefined;
    return { receiver, url, ...(secret === undefined ? {} : { secret }) };
  }

  private readVariable(receiver: DesiredReceiver, name: string, what: string): string {
    if (!envNameAllowed(name, this.options.policy.allowedSecretEnv)) {
      throw new AlertDeliveryError(receiver.name, `${name} (its ${what}) is not allowed by the operator's patterns (--allowed-secret-env)`, { reason: "InvalidInput", retryable: false });
    }
    const value = this.options.env[name];
    if (value === undefined || value === "") throw new AlertDeliveryError(receiver.name, `environment variable ${name} (its ${what}) is not set`, { reason: "InvalidInput", retryable: false });
    return value;
  }

  /** `text` without the receiver's URL (and its parts: a path or query can be the credential) or key. */
  private scrub(text: string, receiver: DesiredReceiver, target?: ResolvedReceiver): string {
    const secrets: string[] = [];
    const url = target?.url ?? this.options.env[receiver.urlFromEnv];
    if (url !== undefined && url !== "") secrets.push(...urlSecrets(url));
    const key = target?.secret ?? (receiver.secretFromEnv === undefined ? undefined : this.options.env[receiver.secretFromEnv]);
    if (key !== undefined && key !== "") secrets.push(key);
    return scrubSecrets(text, secrets);
  }
}

/** A URL and the parts of it that can be credentials on their own: user info, path, query values. */
export function urlSecrets(url: string): string[] {
  const out = [url];
  try {
    const parsed = new URL(url);
    for (const part of [parsed.username, parsed.password, parsed.pathname, parsed.search, ...parsed.searchParams.values()]) {
      // Short parts (`/`, `/api`) are ordinary text; scrubbing them would garble every message.
      if (part.length >= 8) out.push(decodeURIComponent(part), part);
    }
  } catch {
    // not a URL: the whole text is scrubbed
  }
  return out;
}

function storedDiff(diff: string): { diff: string; diffTruncated?: true } {
  const cut = truncateText(diff, STORED_MAX_DIFF);
  return cut.truncated ? { diff: cut.text, diffTruncated: true } : { diff };
}
