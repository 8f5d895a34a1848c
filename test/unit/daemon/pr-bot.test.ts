/**
 * The pull-request bot against an in-memory code host: what it plans (and how often), what it publishes
 * (only a changed plan), whom it obeys (forks wait for a writer's `/bosun plan`, at that head only), what
 * it ignores (another base branch, a closed request) and how it fails (logged without the host's secret,
 * the next request still planned).
 */
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { PullRequestBot, type PullRequestBotOptions } from "../../../src/daemon/pr-bot.js";
import type { PullRequestBase, PullRequestPlan } from "../../../src/daemon/pr-plan.js";
import type { ChangeRequest, PublishOutcome, ScmHost } from "../../../src/scm/host.js";
import type { CommitStatus } from "../../../src/scm/statuses.js";
import type { SpecIssue } from "../../../src/spec/issues.js";
import { clusterPlan, planBuilder } from "../report/builder.js";

const HOST_SECRET = "ghs_canary0123456789abcdefCANARY";
const DAEMON_SECRET = "git-token-daemon-42";
const BASE: PullRequestBase = { revision: "b".repeat(40), fleet: "acme", policy: {} };

/** A head commit: `sha(1)` is `1111…`. */
function sha(n: number): string {
  return String(n % 10).repeat(40);
}

/** A code host in memory: requests, writers, and a record of every call the bot made. */
class MemoryHost implements ScmHost {
  readonly kind = "github" as const;
  readonly where = "acme/fleet";
  readonly requests = new Map<number, ChangeRequest>();
  readonly writers = new Set<string>(["maintainer"]);
  readonly comments: { number: number; fleet: string; body: string; outcome: PublishOutcome["comment"] }[] = [];
  readonly statusCalls: { sha: string; statuses: CommitStatus[]; targetUrl: string | undefined }[] = [];
  readonly refused: { number: number; commentId: number }[] = [];
  /** Numbers whose comment call throws (an error that quotes the host's credential). */
  readonly failing = new Set<number>();
  private readonly bodies = new Map<number, string>();

  /** Opens (or pushes to) a request on the host. */
  open(number: number, head: string, options: { fork?: boolean; baseRef?: string } = {}): ChangeRequest {
    const request = { number, sha: head, baseRef: options.baseRef ?? "main", fork: options.fork ?? false, open: true };
    this.requests.set(number, request);
    return request;
  }

  headRef(number: number): string {
    return `refs/pull/${String(number)}/head`;
  }

  get(number: number): Promise<ChangeRequest | null> {
    return Promise.resolve(this.requests.get(number) ?? null);
  }

  listOpen(baseRef: string): Promise<ChangeRequest[]> {
    return Promise.resolve([...this.requests.values()].filter((r) => r.open && r.baseRef === baseRef));
  }

  mayCommand(user: string): Promise<boolean> {
    return Promise.resolve(this.writers.has(user));
  }

  refuse(number: number, commentId: number): Promise<void> {
    this.refused.push({ number, commentId });
    return Promise.resolve();
  }

  comment(number: number, fleet: string, body: string): Promise<PublishOutcome["comment"]> {
    if (this.failing.has(number)) {
      return Promise.reject(new Error(`POST https://x-access-token:${HOST_SECRET}@api.github.com/repos/acme/fleet/issues/${String(number)}/comments: 502 (daemon ${DAEMON_SECRET})`));
    }
    const before = this.bodies.get(number);
    const outcome = before === undefined ? "created" : before === body ? "unchanged" : "updated";
    this.bodies.set(number, body);
    this.comments.push({ number, fleet, body, outcome });
    return Promise.resolve(outcome);
  }

  statuses(sha: string, statuses: readonly CommitStatus[], targetUrl?: string): Promise<void> {
    this.statusCalls.push({ sha, statuses: [...statuses], targetUrl });
    return Promise.resolve();
  }

  secrets(): readonly string[] {
    return [HOST_SECRET, ""];
  }
}

/** The bot's `plan`: answers with canned plans at the host's current head, and can be held open. */
class Planner {
  readonly calls: string[] = [];
  running = 0;
  mostAtOnce = 0;
  /** The plan returned for every request (the revision is the head planned). */
  plan = planBuilder().build();
  /** Requests whose head does not load. */
  readonly invalid = new Map<number, SpecIssue[]>();
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(private readonly host: MemoryHost) {}

  /** Holds every plan until {@link release}. */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  readonly run = async (ref: string, base: PullRequestBase): Promise<PullRequestPlan> => {
    this.calls.push(ref);
    this.running += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    try {
      if (this.gate !== null) await this.gate;
      const number = Number(/^refs\/pull\/(\d+)\/head$/.exec(ref)?.[1]);
      const revision = this.host.requests.get(number)?.sha ?? ref;
      const errors = this.invalid.get(number);
      if (errors !== undefined) return { kind: "invalid", revision, fleet: base.fleet, errors };
      return { kind: "plan", revision, plan: { ...this.plan, revision } };
    } finally {
      this.running -= 1;
    }
  };

  /** How many times request `number` was planned. */
  count(number: number): number {
    return this.calls.filter((r) => r === `refs/pull/${String(number)}/head`).length;
  }
}

interface Harness {
  bot: PullRequestBot;
  host: MemoryHost;
  planner: Planner;
  logs: Record<string, unknown>[];
  published: string[];
}

function harness(options: Partial<PullRequestBotOptions> = {}): Harness {
  const host = new MemoryHost();
  const planner = new Planner(host);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const published: string[] = [];
  const bot = new PullRequestBot({
    host,
    baseRef: "main",
    base: () => BASE,
    plan: planner.run,
    publicUrl: () => "https://bosun.example.com",
    log: pino({ level: "debug" }, sink),
    scrub: (text) => text.split(DAEMON_SECRET).join("[redacted]"),
    onPublished: (outcome) => published.push(outcome),
    ...options,
  });
  return { bot, host, planner, logs, published };
}

/** The bot's queue is empty and the fire-and-forget fork comment has been sent. */
async function settle(bot: PullRequestBot): Promise<void> {
  await bot.idle();
  await new Promise((resolve) => setImmediate(resolve));
}

function opened(host: MemoryHost, number: number, head: string, options: { fork?: boolean; baseRef?: string } = {}): Parameters<PullRequestBot["onRequest"]>[0] {
  const request = host.open(number, head, options);
  return { action: "opened", number, sha: request.sha, baseRef: request.baseRef, fork: request.fork };
}

describe("publishing", () => {
  it("plans an opened request once and publishes its comment and statuses; sends nothing for the same plan, updates for a changed one", async () => {
    const { bot, host, planner, published } = harness();
    expect(bot.onRequest(opened(host, 1, sha(1)))).toEqual({ accepted: true, reason: "opened: planning" });
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/1/head"]);
    expect(host.comments).toHaveLength(1);
    expect(host.comments[0]).toMatchObject({ number: 1, fleet: "acme", outcome: "created" });
    expect(host.comments[0]?.body).toContain("staging-eu-1");
    expect(host.statusCalls).toHaveLength(1);
    expect(host.statusCalls[0]?.sha).toBe(sha(1));
    expect(host.statusCalls[0]?.targetUrl).toBe("https://bosun.example.com/");
    expect(host.statusCalls[0]?.statuses.map((s) => s.context)).toEqual(["bosun/canary-1", "bosun/staging-eu-1", "bosun/prod-eu-1", "bosun/prod-us-1", "bosun/plan"]);
    expect(bot.list()).toEqual([{ number: 1, sha: sha(1), fork: false, planned: true }]);

    // The same plan made later (only generatedAt differs): planned again, nothing sent.
    planner.plan = planBuilder().generatedAt("2026-11-24T08:00:00.000Z").build();
    bot.replanAll("base moved");
    await settle(bot);
    expect(planner.count(1)).toBe(2);
    expect(host.comments).toHaveLength(1);
    expect(host.statusCalls).toHaveLength(1);

    // A changed plan: the comment is updated in place and the statuses set again.
    planner.plan = planBuilder().clusters(clusterPlan({ name: "canary-1", wave: "canary" })).build();
    bot.replanAll("drift");
    await settle(bot);
    expect(planner.count(1)).toBe(3);
    expect(host.comments).toHaveLength(2);
    expect(host.comments[1]?.outcome).toBe("updated");
    expect(host.statusCalls).toHaveLength(2);
    expect(host.statusCalls[1]?.statuses.map((s) => s.context)).toEqual(["bosun/canary-1", "bosun/plan"]);
    expect(published).toEqual(["created", "unchanged", "updated"]);
  });

  it("publishes an invalid head as the invalid comment with file:line and a failing bosun/plan", async () => {
    const { bot, host, planner } = harness();
    planner.invalid.set(4, [
      { file: "clusters/prod-eu-1.yaml", line: 12, col: 5, path: "spec.version", severity: "error", message: 'version "1.36" is not a Kubernetes version' },
      { file: "fleet.yaml", line: 3, col: 1, path: "", severity: "error", message: "unknown field extra" },
    ]);
    bot.onRequest(opened(host, 4, sha(4)));
    await settle(bot);
    expect(host.comments).toHaveLength(1);
    const body = host.comments[0]?.body ?? "";
    expect(body).toContain("does not load");
    // The comment is Markdown: the parentheses of "(at path)" are escaped.
    expect(body).toContain('- clusters/prod-eu-1.yaml:12:5: version "1.36" is not a Kubernetes version \\(at spec.version\\)');
    expect(body).toContain("- fleet.yaml:3:1: unknown field extra");
    expect(host.statusCalls).toHaveLength(1);
    expect(host.statusCalls[0]?.sha).toBe(sha(4));
    expect(host.statusCalls[0]?.statuses.map((s) => [s.context, s.state])).toEqual([["bosun/plan", "failure"]]);
    expect(host.statusCalls[0]?.statuses[0]?.description).toContain("invalid: 2 spec errors: clusters/prod-eu-1.yaml:12:5");
  });
});

describe("scheduling", () => {
  it("coalesces: five replanAll while #1 is being planned make exactly one more plan of #1", async () => {
    const { bot, host, planner } = harness();
    planner.hold();
    bot.onRequest(opened(host, 1, sha(1)));
    expect(planner.running).toBe(1);
    for (let i = 0; i < 5; i++) bot.replanAll(`drift ${String(i)}`);
    expect(planner.count(1)).toBe(1);
    planner.release();
    await settle(bot);
    expect(planner.count(1)).toBe(2);
  });

  it("plans at most `concurrency` requests at once", async () => {
    const { bot, host, planner } = harness({ concurrency: 2 });
    planner.hold();
    for (let n = 1; n <= 5; n++) bot.onRequest(opened(host, n, sha(n)));
    expect(planner.running).toBe(2);
    expect(planner.calls).toHaveLength(2);
    planner.release();
    await settle(bot);
    expect(planner.calls).toHaveLength(5);
    for (let n = 1; n <= 5; n++) expect(planner.count(n)).toBe(1);
    expect(planner.mostAtOnce).toBe(2);
    expect(host.comments).toHaveLength(5);
  });

  it("ignores a request into another base branch, and forgets a closed one", async () => {
    const { bot, host, planner } = harness();
    expect(bot.onRequest(opened(host, 2, sha(2), { baseRef: "release-1" }))).toEqual({ accepted: false, reason: "into release-1, not into main" });
    bot.onRequest(opened(host, 3, sha(3), { baseRef: "refs/heads/main" }));
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/3/head"]);
    expect(bot.onRequest({ action: "closed", number: 3, sha: sha(3), baseRef: "main", fork: false })).toEqual({ accepted: true, reason: "closed: forgotten" });
    bot.replanAll("base moved");
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/3/head"]);
    expect(bot.list()).toEqual([]);
  });
});

describe("forks", () => {
  it("waits for a writer's /bosun plan, refuses anyone else, plans at the commanded head only", async () => {
    const { bot, host, planner } = harness();
    expect(bot.onRequest(opened(host, 5, sha(5), { fork: true })).reason).toContain("from a fork");
    await settle(bot);
    expect(planner.calls).toEqual([]);
    expect(host.comments).toHaveLength(1);
    expect(host.comments[0]?.body).toContain("waiting for a maintainer");
    expect(host.statusCalls).toEqual([]);

    // A user without write access: refused with a reaction, nothing planned.
    expect(await bot.onComment({ number: 5, commentId: 501, user: "drive-by", body: "/bosun plan" })).toEqual({ accepted: false, reason: "the author has no write access" });
    await settle(bot);
    expect(host.refused).toEqual([{ number: 5, commentId: 501 }]);
    expect(planner.calls).toEqual([]);
    // replanAll does not plan an uncommanded fork either.
    bot.replanAll("base moved");
    await settle(bot);
    expect(planner.calls).toEqual([]);

    // Not a command at all: not even the permission is asked.
    expect(await bot.onComment({ number: 5, commentId: 502, user: "maintainer", body: "LGTM, /bosun plan later" })).toEqual({ accepted: false, reason: "not a /bosun plan command" });

    // A writer: planned at the head read then.
    expect(await bot.onComment({ number: 5, commentId: 503, user: "maintainer", body: "/bosun plan\nplease" })).toEqual({ accepted: true, reason: "planning" });
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/5/head"]);
    expect(host.statusCalls.map((c) => c.sha)).toEqual([sha(5)]);
    expect(host.refused).toHaveLength(1);

    // The fork pushes again: not planned (by the event or by replanAll) until a new command.
    host.open(5, sha(6), { fork: true });
    expect(bot.onRequest({ action: "synchronize", number: 5, sha: sha(6), baseRef: "main", fork: true }).reason).toContain("waiting for /bosun plan");
    bot.replanAll("drift");
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/5/head"]);
    expect(bot.list()).toEqual([{ number: 5, sha: sha(6), fork: true, planned: false }]);

    expect((await bot.onComment({ number: 5, commentId: 504, user: "maintainer", body: "/bosun plan" })).accepted).toBe(true);
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/5/head", "refs/pull/5/head"]);
    expect(host.statusCalls.map((c) => c.sha)).toEqual([sha(5), sha(6)]);
  });
});

describe("failures", () => {
  it("logs a failing host without its secret and plans the next request", async () => {
    const { bot, host, planner, logs, published } = harness({ concurrency: 1 });
    host.failing.add(1);
    bot.onRequest(opened(host, 1, sha(1)));
    bot.onRequest(opened(host, 2, sha(2)));
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/1/head", "refs/pull/2/head"]);
    expect(published).toEqual(["failed", "created"]);
    expect(host.comments.map((c) => c.number)).toEqual([2]);
    const failed = logs.filter((l) => l.msg === "pull request plan failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 40, host: "github", number: 1, sha: sha(1), reason: "Internal" });
    expect(String(failed[0]?.err)).toContain("502");
    expect(String(failed[0]?.err)).toContain("[redacted]");
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain(HOST_SECRET);
    expect(everything).not.toContain(DAEMON_SECRET);
  });
});

describe("what a fork cannot get around", () => {
  it("is not planned when it is open at start: the command is not remembered across restarts", async () => {
    const { bot, host, planner } = harness();
    host.open(7, sha(7), { fork: true });
    host.open(8, sha(8));
    await bot.start();
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/8/head"]);
    expect(host.comments.find((c) => c.number === 7)?.body).toContain("waiting for a maintainer");
  });

  it("is not published when its head moved between the command and the fetch", async () => {
    const { bot, host, planner } = harness();
    host.open(5, sha(5), { fork: true });
    bot.onRequest({ action: "opened", number: 5, sha: sha(5), baseRef: "main", fork: true });
    await settle(bot);
    planner.hold();
    expect((await bot.onComment({ number: 5, commentId: 1, user: "maintainer", body: "/bosun plan" })).accepted).toBe(true);
    // The author pushes while the commanded plan is being fetched: the fetch sees the new head.
    host.open(5, sha(6), { fork: true });
    planner.release();
    await settle(bot);
    expect(planner.calls).toEqual(["refs/pull/5/head"]);
    expect(host.statusCalls).toEqual([]);
    expect(host.comments.map((c) => c.body).some((b) => b.includes("staging-eu-1"))).toBe(false);
  });

  it("drops a queued plan when it pushes before the plan starts", async () => {
    const { bot, host, planner } = harness({ concurrency: 1 });
    planner.hold();
    bot.onRequest(opened(host, 1, sha(1)));
    host.open(5, sha(5), { fork: true });
    bot.onRequest({ action: "opened", number: 5, sha: sha(5), baseRef: "main", fork: true });
    await bot.onComment({ number: 5, commentId: 1, user: "maintainer", body: "/bosun plan" });
    host.open(5, sha(6), { fork: true });
    bot.onRequest({ action: "synchronize", number: 5, sha: sha(6), baseRef: "main", fork: true });
    planner.release();
    await settle(bot);
    expect(planner.count(5)).toBe(0);
  });
});

describe("what leaves the bot", () => {
  it("scrubs the daemon's and the host's secrets from the comment and the statuses", async () => {
    const { bot, host, planner } = harness();
    planner.plan = planBuilder().clusters(clusterPlan({ name: "canary-1", wave: "canary", status: "unreachable", reason: `dial https://user:${DAEMON_SECRET}@10.0.0.1 failed (${HOST_SECRET})` })).build();
    bot.onRequest(opened(host, 1, sha(1)));
    await settle(bot);
    const sent = JSON.stringify([host.comments, host.statusCalls]);
    expect(sent).toContain("dial https://");
    expect(sent).not.toContain(DAEMON_SECRET);
    expect(sent).not.toContain(HOST_SECRET);
  });

  it("forgets a request retargeted to another branch", async () => {
    const { bot, host, planner } = harness();
    bot.onRequest(opened(host, 1, sha(1)));
    await settle(bot);
    expect(bot.onRequest({ action: "edited", number: 1, sha: sha(1), baseRef: "release-1", fork: false }).accepted).toBe(false);
    bot.replanAll("base moved");
    await settle(bot);
    expect(planner.count(1)).toBe(1);
    expect(bot.list()).toEqual([]);
  });

  it("lists the open requests again after a failed listing", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const { bot, host, planner } = harness();
      host.open(1, sha(1));
      const listOpen = host.listOpen.bind(host);
      let failures = 1;
      host.listOpen = (baseRef: string) => (failures-- > 0 ? Promise.reject(new Error("502 from GitHub")) : listOpen(baseRef));
      await bot.start();
      expect(planner.calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(60_000);
      await settle(bot);
      expect(planner.calls).toEqual(["refs/pull/1/head"]);
      await bot.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
