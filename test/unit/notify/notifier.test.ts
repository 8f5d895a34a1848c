/**
 * The notifier's rules on a fake clock, against a real HTTP receiver on 127.0.0.1 and a real directory
 * state store: sent on transition, not again until the repeat interval passed, at once when the diff
 * changes, resolved when the condition clears; retries with backoff on 5xx, none on 4xx, a rest after a
 * failure; variables read through the operator's patterns; unreachable only after `unreachableAfter`.
 */
import fs from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DirectoryStateStore } from "../../../src/daemon/store-dir.js";
import { Notifier, type NotifierLog, type NotifierOptions } from "../../../src/notify/notifier.js";
import type { AlertPayload } from "../../../src/notify/payload.js";
import { ALERT_KINDS, type AlertKind, type DesiredReceiver } from "../../../src/spec/types.js";
import { fakeClock, type FakeClock } from "../../support/fake-clock.js";

const START = Date.parse("2026-12-02T00:00:00.000Z");
const HOUR = 3600_000;

interface Received {
  path: string;
  body: string;
}

let server: http.Server;
let base: string;
let received: Received[] = [];
let answer: (path: string, n: number) => number = () => 200;
/** While set, the receiver holds its answers until the promise settles (a delivery in flight). */
let hold: Promise<void> | null = null;
let dir: string;
let clock: FakeClock;
let logs: string[];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request = { path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") };
      received.push(request);
      const status = answer(request.path, received.filter((r) => r.path === request.path).length);
      void (hold ?? Promise.resolve()).then(() => res.writeHead(status).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${String((server.address() as net.AddressInfo).port)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-notifier-"));
  received = [];
  answer = () => 200;
  hold = null;
  clock = fakeClock(START);
  logs = [];
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const log: NotifierLog = {
  info: (fields, message) => logs.push(JSON.stringify({ fields, message })),
  warn: (fields, message) => logs.push(JSON.stringify({ fields, message })),
};

function hook(name: string, events: readonly AlertKind[] = ALERT_KINDS, type: DesiredReceiver["type"] = "webhook"): DesiredReceiver {
  return { name, type, urlFromEnv: `BOSUN_SECRET_${name.toUpperCase()}`, events: [...events] };
}

function notifier(receivers: DesiredReceiver[], options: Partial<NotifierOptions> = {}): Notifier {
  const env = Object.fromEntries(receivers.map((r) => [r.urlFromEnv, `${base}/${r.name}`]));
  return new Notifier({
    fleet: "acme",
    receivers,
    env,
    policy: { allowedSecretEnv: ["BOSUN_SECRET_*"] },
    store: new DirectoryStateStore(dir),
    log,
    now: clock.now,
    sleep: clock.sleep,
    repeatIntervalSeconds: 4 * 3600,
    ...options,
  });
}

const drift = { kind: "drift" as const, cluster: "prod", wave: "prod", revision: "abc", summary: "prod drifted", diff: "-a\n+b\n" };

function payloads(name: string): AlertPayload[] {
  return received.filter((r) => r.path === `/${name}`).map((r) => JSON.parse(r.body) as AlertPayload);
}

describe("dedupe, repeat and resolve", () => {
  it("sends on transition, not on every tick, again after the repeat interval, and the resolution once", async () => {
    const n = notifier([hook("a")]);
    await n.fire(drift);
    await n.idle();
    for (let i = 0; i < 5; i += 1) {
      await n.fire(drift);
      await n.sync();
    }
    await n.idle();
    expect(payloads("a").map((p) => p.status)).toEqual(["firing"]);

    await clock.sleep(4 * HOUR - 1000);
    await n.sync();
    await n.idle();
    expect(payloads("a")).toHaveLength(1);
    await clock.sleep(1000);
    await n.sync();
    await n.idle();
    expect(payloads("a").map((p) => p.status)).toEqual(["firing", "firing"]);
    expect(payloads("a")[1]?.startsAt).toBe(payloads("a")[0]?.startsAt);

    await n.resolve({ kind: "drift", cluster: "prod" });
    await n.resolve({ kind: "drift", cluster: "prod" });
    await n.idle();
    expect(payloads("a").map((p) => p.event)).toEqual(["drift", "drift", "drift-resolved"]);
    expect((await n.state()).conditions).toEqual([]);
    await clock.sleep(5 * HOUR);
    await n.sync();
    await n.idle();
    expect(payloads("a")).toHaveLength(3);
  });

  it("sends a resolution that arrives while the firing delivery is still in flight", async () => {
    const n = notifier([hook("a")]);
    let release = (): void => undefined;
    hold = new Promise((resolve) => (release = resolve));
    await n.fire(drift);
    while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await n.resolve({ kind: "drift", cluster: "prod" });
    hold = null;
    release();
    await n.idle();
    expect(payloads("a").map((p) => p.event)).toEqual(["drift", "drift-resolved"]);
    expect((await n.state()).conditions).toEqual([]);
  });

  it("records fire and resolve in the order they were asked, even when nobody waits for them", async () => {
    const n = notifier([hook("a")]);
    await n.fire(drift);
    await n.idle();
    // The daemon raises and clears without waiting: a changed diff reported just before the drift cleared.
    void n.fire({ ...drift, diff: "-a\n+c\n" });
    void n.resolve({ kind: "drift", cluster: "prod" });
    await n.idle();
    expect((await n.state()).conditions).toEqual([]);
    expect(payloads("a").at(-1)?.event).toBe("drift-resolved");
  });

  it("sends at once when the same cluster drifts differently", async () => {
    const n = notifier([hook("a")]);
    await n.fire(drift);
    await n.fire({ ...drift, diff: "-a\n+c\n" });
    await n.idle();
    const sent = payloads("a");
    expect(sent.map((p) => p.diff)).toEqual(expect.arrayContaining(["-a\n+c\n"]));
    expect(new Set(sent.map((p) => p.fingerprint)).size).toBe(sent.length);
    expect(sent.at(-1)?.diff).toBe("-a\n+c\n");
  });

  it("keeps at most 16 KiB of a diff, says it was cut, and still tells diffs apart by their whole text", async () => {
    const n = notifier([hook("a")]);
    const long = "+ a long line of a diff\n".repeat(5000);
    await n.fire({ ...drift, diff: long });
    await n.idle();
    await n.fire({ ...drift, diff: `${long}+ one more line at the end\n` });
    await n.idle();
    const sent = payloads("a");
    expect(sent).toHaveLength(2);
    expect(sent.every((p) => p.diffTruncated && (p.diff?.length ?? Infinity) <= 16_384)).toBe(true);
    expect(sent[0]?.fingerprint).not.toBe(sent[1]?.fingerprint);
  });

  it("sends only the events a receiver asked for; a drift's resolution only to those that want drift-resolved", async () => {
    const n = notifier([hook("all"), hook("fires", ["drift"]), hook("failures", ["apply-failed"])]);
    await n.fire(drift);
    await n.fire({ kind: "apply-failed", cluster: "stage", revision: "abc", summary: "apply failed" });
    await n.idle();
    await n.resolve({ kind: "drift", cluster: "prod" });
    await n.idle();
    expect(payloads("all").map((p) => `${p.event}:${p.cluster ?? ""}`).sort()).toEqual(["apply-failed:stage", "drift-resolved:prod", "drift:prod"]);
    expect(payloads("fires").map((p) => p.event)).toEqual(["drift"]);
    expect(payloads("failures").map((p) => p.event)).toEqual(["apply-failed"]);
    expect((await n.state()).conditions.map((c) => c.key)).toEqual(["apply-failed/stage/-"]);
  });

  it("does not re-send after a restart and sends the resolution a restart would otherwise forget", async () => {
    const first = notifier([hook("a")]);
    await first.fire(drift);
    await first.idle();
    await first.close();
    const second = notifier([hook("a")]);
    await second.fire(drift);
    await second.sync();
    await second.idle();
    expect(payloads("a")).toHaveLength(1);
    await second.resolve({ kind: "drift", cluster: "prod" });
    await second.idle();
    expect(payloads("a").map((p) => p.event)).toEqual(["drift", "drift-resolved"]);
  });

  it("re-posts a firing alert to Alertmanager every five minutes at most", async () => {
    const n = notifier([hook("am", ALERT_KINDS, "alertmanager")]);
    await n.fire(drift);
    await n.idle();
    await clock.sleep(300_000);
    await n.sync();
    await n.idle();
    const posts = received.map((r) => JSON.parse(r.body) as { labels: Record<string, string>; endsAt: string }[]);
    expect(received.map((r) => r.path)).toEqual(["/am/api/v2/alerts", "/am/api/v2/alerts"]);
    expect(posts.map((p) => p[0]?.labels.alertname)).toEqual(["BosunDrift", "BosunDrift"]);
    expect(Date.parse(posts[1]?.[0]?.endsAt ?? "")).toBe(START + 300_000 + 4 * 300_000);
    await n.resolve({ kind: "drift", cluster: "prod" });
    await n.idle();
    const last = JSON.parse(received.at(-1)?.body ?? "[]") as { endsAt: string }[];
    expect(Date.parse(last[0]?.endsAt ?? "")).toBe(START + 300_000);
  });
});

describe("configure", () => {
  it("sends open conditions to a receiver added by a new revision and owes nothing to one removed", async () => {
    const n = notifier([hook("a")], { env: { BOSUN_SECRET_A: `${base}/a`, BOSUN_SECRET_B: `${base}/b` } });
    await n.fire(drift);
    await n.idle();
    n.configure({ receivers: [hook("b")], repeatIntervalSeconds: 3600, unreachableAfterSeconds: 600 });
    await n.sync();
    await n.idle();
    expect(payloads("b").map((p) => p.event)).toEqual(["drift"]);
    await n.resolve({ kind: "drift", cluster: "prod" });
    await n.idle();
    expect(payloads("b").map((p) => p.event)).toEqual(["drift", "drift-resolved"]);
    expect(payloads("a").map((p) => p.event)).toEqual(["drift"]);
    expect((await n.state()).conditions).toEqual([]);
  });
});

describe("delivery", () => {
  it("retries 5xx with exponential backoff and delivers once", async () => {
    answer = (_path, n) => (n <= 3 ? 503 : 200);
    const n = notifier([hook("a")]);
    await n.fire(drift);
    await n.idle();
    expect(received).toHaveLength(4);
    expect(clock.slept).toEqual([1000, 2000, 4000]);
    expect((await n.state()).conditions[0]?.deliveries.a).toMatchObject({ status: "firing", sent: 1 });
  });

  it("does not retry a 4xx, records why, rests, then tries again", async () => {
    answer = (_path, n) => (n === 1 ? 400 : 200);
    const n = notifier([hook("a")], { retryPauseSeconds: 60 });
    await n.fire(drift);
    await n.idle();
    expect(received).toHaveLength(1);
    expect((await n.state()).conditions[0]?.deliveries.a?.error).toBe("alert receiver a: answered HTTP 400 after 1 attempt");
    await clock.sleep(59_000);
    await n.sync();
    await n.idle();
    expect(received).toHaveLength(1);
    await clock.sleep(1000);
    await n.sync();
    await n.idle();
    expect(received).toHaveLength(2);
    expect((await n.state()).conditions[0]?.deliveries.a).toEqual({ fingerprint: expect.any(String) as string, status: "firing", sentAt: new Date(clock.now()).toISOString(), sent: 1 });
  });

  it("keeps one receiver that is down from delaying another", async () => {
    answer = (p) => (p === "/down" ? 500 : 200);
    let downSleeps = 0;
    // The down receiver's backoff never ends until released; the other is delivered meanwhile.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const n = notifier([hook("down"), hook("up")], {
      sleep: async () => {
        downSleeps += 1;
        await gate;
      },
    });
    await n.fire(drift);
    for (let i = 0; i < 50 && payloads("up").length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(payloads("up")).toHaveLength(1);
    expect(downSleeps).toBe(1);
    release();
    await n.idle();
  });

  it("reads variables through the operator's patterns and never names their values", async () => {
    const receiver = { ...hook("a"), urlFromEnv: "HOOK_URL" };
    const n = notifier([receiver], { env: { HOOK_URL: `${base}/a/secret-path-123456` } });
    await n.fire(drift);
    await n.idle();
    expect(received).toHaveLength(0);
    const error = (await n.state()).conditions[0]?.deliveries.a?.error ?? "";
    expect(error).toContain("HOOK_URL (its URL) is not allowed");
    const missing = notifier([hook("b")], { env: {} });
    await missing.fire({ ...drift, cluster: "other" });
    await missing.idle();
    expect((await missing.state()).conditions.find((c) => c.key === "drift/other/-")?.deliveries.b?.error).toContain("environment variable BOSUN_SECRET_B (its URL) is not set");
    expect(logs.join("\n")).not.toContain("secret-path-123456");
  });

  it("scrubs the URL from an unreachable receiver's error", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const n = notifier([hook("a")], { env: { BOSUN_SECRET_A: `http://127.0.0.1:${String(port)}/services/T0000/B0000/abcdefghijkl` }, retry: { attempts: 2 } });
    await n.fire(drift);
    await n.idle();
    const error = (await n.state()).conditions[0]?.deliveries.a?.error ?? "";
    expect(error).toBe("alert receiver a: unreachable (ECONNREFUSED) after 2 attempts");
    expect(logs.join("\n")).not.toContain("abcdefghijkl");
  });
});

describe("cluster-unreachable", () => {
  it("fires only after unreachableAfter, remembered across restarts, and resolves when the cluster answers", async () => {
    const input = { cluster: "prod", revision: "abc", summary: "prod is unreachable" };
    await notifier([hook("a")], { unreachableAfterSeconds: 600 }).clusterUnreachable(input);
    await clock.sleep(599_000);
    const n = notifier([hook("a")], { unreachableAfterSeconds: 600 });
    await n.clusterUnreachable(input);
    await n.idle();
    expect(received).toHaveLength(0);
    await clock.sleep(1000);
    await n.clusterUnreachable(input);
    await n.idle();
    expect(payloads("a").map((p) => `${p.event}:${p.status}:${p.severity}`)).toEqual(["cluster-unreachable:firing:critical"]);
    await n.clusterReachable("prod");
    await n.idle();
    expect(payloads("a").map((p) => p.status)).toEqual(["firing", "resolved"]);
    expect(await n.state()).toEqual({ format: 1, conditions: [], unreachableSince: {} });
  });
});
