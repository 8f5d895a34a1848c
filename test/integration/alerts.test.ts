/**
 * Alert receivers for real: Debian's Alertmanager started on 127.0.0.1 (installed when missing), generic
 * webhook receivers on 127.0.0.1 that check the HMAC of every payload (one answering 500 three times, one
 * that never answers), and the delivery state in a DirectoryStateStore that a second Notifier — a restart —
 * reads. Canary values in the receivers' URL and key must appear in no payload, header, log line or state.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirectoryStateStore } from "../../src/daemon/store-dir.js";
import { createLogger } from "../../src/daemon/log.js";
import { Notifier, type NotifierOptions } from "../../src/notify/notifier.js";
import type { DesiredReceiver } from "../../src/spec/types.js";
import { DEFAULT_ALLOWED_ENV } from "../../src/spec/environment.js";
import { eventually } from "../support/sandbox.js";
import { startAlertmanager, type Alertmanager } from "../support/alertmanager.js";
import { freePort } from "../support/net.js";

const URL_CANARY = "canaryurltoken7f3a9c1e5b";
const KEY_CANARY = "canarykey4d2b8e6a0c9f";
const ALL_EVENTS = ["drift", "drift-resolved", "apply-failed", "wave-halted", "backup-stale", "backup-failed", "invalid-spec", "cluster-unreachable"] as const;

let dir: string;
let alertmanager: Alertmanager | undefined;
let alertmanagerUrl: string;
const servers: http.Server[] = [];
const logLines: string[] = [];
const sinkBodies: string[] = [];


/** A webhook receiver: records each request (body, headers, whether its signature is valid) and answers `answer(n)`. */
interface Sink {
  url: string;
  requests: { body: string; headers: http.IncomingHttpHeaders; signatureValid: boolean }[];
  delivered: number;
}

async function sink(answer: (n: number) => number | "hang"): Promise<Sink> {
  const state: Sink = { url: "", requests: [], delivered: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      sinkBodies.push(body, JSON.stringify(req.headers), req.url ?? "");
      const expected = Buffer.from(`sha256=${createHmac("sha256", KEY_CANARY).update(body).digest("hex")}`);
      const given = Buffer.from(String(req.headers["x-bosun-signature"] ?? ""));
      state.requests.push({ body, headers: req.headers, signatureValid: expected.length === given.length && timingSafeEqual(expected, given) });
      const status = answer(state.requests.length);
      if (status === "hang") return;
      if (status === 200) state.delivered += 1;
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${String((server.address() as net.AddressInfo).port)}/hooks/${URL_CANARY}?token=${URL_CANARY}`;
  return state;
}

function receiver(name: string, type: DesiredReceiver["type"], signed = false): DesiredReceiver {
  const variable = `BOSUN_SECRET_${name.toUpperCase().replaceAll("-", "_")}_URL`;
  return { name, type, urlFromEnv: variable, ...(signed ? { secretFromEnv: "BOSUN_SECRET_HOOK_KEY" } : {}), events: [...ALL_EVENTS] };
}

function notifier(options: Partial<NotifierOptions> & Pick<NotifierOptions, "receivers" | "env">, stateDir = dir): Notifier {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString("utf8"));
      done();
    },
  });
  return new Notifier({
    fleet: "acme",
    policy: { allowedSecretEnv: DEFAULT_ALLOWED_ENV },
    store: new DirectoryStateStore(stateDir),
    log: createLogger({ format: "json", destination: stream, level: "debug" }),
    retry: { baseDelayMs: 20, timeoutMs: 2000 },
    ...options,
  });
}

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endsAt: string;
  status: { state: string };
}

async function alertsOf(cluster: string): Promise<GettableAlert[]> {
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`);
  expect(response.status).toBe(200);
  const alerts = (await response.json()) as GettableAlert[];
  return alerts.filter((a) => a.labels.alertname === "BosunDrift" && a.labels.cluster === cluster);
}

const DIFF = '--- a/prod-eu-1:Deployment.apps/web/api\n+++ b/prod-eu-1:Deployment.apps/web/api\n-  replicas: 5\n+  replicas: 3\n   password: "***"\n';

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-alerts-"));
  alertmanager = await startAlertmanager(dir);
  alertmanagerUrl = alertmanager.url;
}, 900_000);

afterAll(async () => {
  // Stopped by pid, and only while its command line still names this test's directory.
  await alertmanager?.stop();
  servers.forEach((s) => {
    s.closeAllConnections();
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await fs.rm(dir, { recursive: true, force: true });
});

describe("Alertmanager", () => {
  it("shows one firing drift alert with the cluster label and the diff, re-posted, then resolved", async () => {
    const env = { BOSUN_SECRET_AM_URL: alertmanagerUrl };
    const amDir = path.join(dir, "state-am");
    // A 1s repeat interval makes every fire after a second a re-post (Alertmanager dedupes by labels).
    const n = notifier({ receivers: [receiver("am", "alertmanager")], env, repeatIntervalSeconds: 1 }, amDir);
    const drift = { kind: "drift" as const, cluster: "prod-eu-1", wave: "prod", revision: "0123456789abcdef", summary: "prod-eu-1 drifted: 1 object differs", diff: DIFF, planUrl: "http://127.0.0.1:8080/clusters/prod-eu-1" };
    await n.fire(drift);
    await n.idle();
    const first = await eventually("the alert in Alertmanager", async () => ((await alertsOf("prod-eu-1")).length > 0 ? alertsOf("prod-eu-1") : undefined), 30_000);
    expect(first).toHaveLength(1);
    expect(first[0]?.labels).toMatchObject({ alertname: "BosunDrift", cluster: "prod-eu-1", wave: "prod", severity: "warning", fleet: "acme" });
    expect(first[0]?.annotations.diff).toContain("replicas: 3");
    expect(first[0]?.annotations.plan_url).toBe(drift.planUrl);
    expect(first[0]?.status.state).toBe("active");

    for (let i = 0; i < 5; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await n.fire(drift);
      await n.idle();
    }
    const state = await n.state();
    // Posted again on each of the five fires (the interval passed), still one alert.
    expect(state.conditions[0]?.deliveries.am?.sent).toBe(6);
    expect(await alertsOf("prod-eu-1")).toHaveLength(1);

    await n.resolve({ kind: "drift", cluster: "prod-eu-1" });
    await n.idle();
    await eventually("the alert no longer active", async () => ((await alertsOf("prod-eu-1")).length === 0 ? true : undefined), 30_000);
    expect((await n.state()).conditions).toEqual([]);
  });
});

describe("generic webhooks", () => {
  let good: Sink;
  let flaky: Sink;
  let hanging: Sink;
  let env: Record<string, string>;
  const stateDir = (): string => path.join(dir, "state-hooks");

  beforeAll(async () => {
    good = await sink(() => 200);
    flaky = await sink((n) => (n <= 3 ? 500 : 200));
    hanging = await sink(() => "hang");
    env = { BOSUN_SECRET_GOOD_URL: good.url, BOSUN_SECRET_FLAKY_URL: flaky.url, BOSUN_SECRET_HANGING_URL: hanging.url, BOSUN_SECRET_HOOK_KEY: KEY_CANARY, BOSUN_SECRET_CLOSED_URL: `http://127.0.0.1:${String(await freePort())}/x/${URL_CANARY}` };
  });

  const receivers = (): DesiredReceiver[] => [receiver("good", "webhook", true), receiver("flaky", "webhook", true), receiver("hanging", "webhook", true), receiver("closed", "webhook", true)];
  const drift = { kind: "drift" as const, cluster: "staging-eu-1", revision: "fedcba9876543210", summary: "staging-eu-1 drifted", diff: DIFF };

  it("delivers once to each receiver, signed; 500 three times then 200 is delivered once; a hanging one delays nothing", async () => {
    const n = notifier({ receivers: receivers(), env, retry: { baseDelayMs: 20, timeoutMs: 3000, attempts: 5 } }, stateDir());
    const started = Date.now();
    await n.fire(drift);
    // The good receiver has its alert while the hanging one is still waiting for its first answer.
    await eventually("the good receiver's delivery", () => Promise.resolve(good.delivered === 1 ? true : undefined), 2500);
    expect(Date.now() - started).toBeLessThan(2500);
    await n.idle();
    expect(good.delivered).toBe(1);
    expect(flaky.requests.map((r) => r.signatureValid)).toEqual([true, true, true, true]);
    expect(flaky.delivered).toBe(1);
    expect(good.requests.every((r) => r.signatureValid)).toBe(true);
    expect(hanging.requests.length).toBeGreaterThanOrEqual(1);
    const payload = JSON.parse(good.requests[0]?.body ?? "{}") as Record<string, unknown>;
    expect(payload).toMatchObject({ apiVersion: "bosun.dev/alert/v1", event: "drift", status: "firing", fleet: "acme", cluster: "staging-eu-1", diff: DIFF, diffTruncated: false });
    const state = await n.state();
    expect(state.conditions[0]?.deliveries.good).toMatchObject({ status: "firing", sent: 1 });
    expect(state.conditions[0]?.deliveries.flaky).toMatchObject({ status: "firing", sent: 1 });
    expect(state.conditions[0]?.deliveries.hanging?.failedAt).toBeDefined();
    expect(state.conditions[0]?.deliveries.closed?.error).toMatch(/unreachable \(ECONNREFUSED\)/);

    // Five more ticks of the same drift send nothing.
    for (let i = 0; i < 5; i += 1) await n.fire(drift);
    await n.idle();
    expect(good.requests).toHaveLength(1);
    expect(flaky.requests).toHaveLength(4);
  });

  it("after a restart sends nothing again and does not forget the resolution", async () => {
    const restarted = notifier({ receivers: receivers(), env, retryPauseSeconds: 3600 }, stateDir());
    await restarted.fire(drift);
    await restarted.sync();
    await restarted.idle();
    expect(good.requests).toHaveLength(1);
    expect(flaky.requests).toHaveLength(4);

    await restarted.resolve({ kind: "drift", cluster: "staging-eu-1" });
    await restarted.idle();
    expect(good.requests).toHaveLength(2);
    const resolved = JSON.parse(good.requests[1]?.body ?? "{}") as Record<string, unknown>;
    expect(resolved).toMatchObject({ event: "drift-resolved", status: "resolved", cluster: "staging-eu-1" });
    expect(resolved.endsAt).toBeDefined();
    expect(flaky.requests).toHaveLength(5);
    expect(good.requests.every((r) => r.signatureValid)).toBe(true);
  });

  it("never lets a receiver's URL or key into a payload, a header, a log line or the state", async () => {
    const stored = await fs.readFile(path.join(stateDir(), "alerts.json"), "utf8");
    const everything = [...sinkBodies.filter((_, i) => i % 3 !== 2), ...logLines, stored].join("\n");
    // The request line holds the URL canary by construction; it is left out above, the rest must not.
    expect(sinkBodies.length).toBeGreaterThan(0);
    expect(logLines.some((l) => l.includes("ECONNREFUSED"))).toBe(true);
    expect(everything).not.toContain(URL_CANARY);
    expect(everything).not.toContain(KEY_CANARY);
    expect(everything).not.toContain(Buffer.from(KEY_CANARY).toString("base64"));
  });
});
