/**
 * What each receiver is sent, as data: the generic payload against schemas/alert.schema.json (and the
 * schema against the AlertPayload type's fields), the signature against a published HMAC-SHA256 vector,
 * Alertmanager's labels and annotations, Slack's blocks, and every cut said out loud.
 */
import fs from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { alertName, alertsEndpoint, postableAlert, ALERTMANAGER_MAX_DIFF, alertmanagerRefreshSeconds } from "../../../src/notify/alertmanager.js";
import { alertFingerprint, conditionKey, truncateText } from "../../../src/notify/condition.js";
import { alertPayload, ALERT_PAYLOAD_VERSION, WEBHOOK_MAX_DIFF, type AlertPayload } from "../../../src/notify/payload.js";
import { slackMessage, SLACK_MAX_DIFF } from "../../../src/notify/slack.js";
import { signBody, verifySignature, webhookRequest } from "../../../src/notify/webhook.js";
import { urlSecrets } from "../../../src/notify/notifier.js";
import { ALERT_KINDS } from "../../../src/spec/types.js";
import type { AlertCondition, AlertEvent } from "../../../src/notify/types.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, "schemas/alert.schema.json"), "utf8")) as { properties: Record<string, { enum?: string[]; description?: string }>; required: string[] };
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat("date-time", { type: "string", validate: (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)) });
const validate = ajv.compile<AlertPayload>(SCHEMA);

const NOW = new Date("2026-12-02T01:00:00.000Z");
const DIFF = "--- a/prod:Deployment.apps/web/api\n+++ b/prod:Deployment.apps/web/api\n-  replicas: 5\n+  replicas: 3\n";

function condition(event: Partial<AlertEvent> = {}, extra: Partial<AlertCondition> = {}): AlertCondition {
  const full: AlertEvent = { kind: "drift", fleet: "acme", cluster: "prod", wave: "prod", revision: "0123456789abcdef0123", summary: "prod drifted", diff: DIFF, planUrl: "https://bosun.example/clusters/prod", severity: "warning", ...event };
  return { key: conditionKey(full), fingerprint: alertFingerprint(full), status: "firing", event: full, startsAt: "2026-12-02T00:50:00.000Z", deliveries: {}, ...extra };
}

describe("the generic webhook payload", () => {
  it("validates against schemas/alert.schema.json, firing and resolved", () => {
    const firing = alertPayload(condition(), "firing", NOW);
    expect(validate(firing), JSON.stringify(validate.errors)).toBe(true);
    expect(firing).toEqual({
      apiVersion: ALERT_PAYLOAD_VERSION,
      event: "drift",
      status: "firing",
      fingerprint: alertFingerprint({ kind: "drift", cluster: "prod", wave: "prod", diff: DIFF }),
      fleet: "acme",
      cluster: "prod",
      wave: "prod",
      revision: "0123456789abcdef0123",
      severity: "warning",
      summary: "prod drifted",
      diff: DIFF,
      diffTruncated: false,
      planUrl: "https://bosun.example/clusters/prod",
      startsAt: "2026-12-02T00:50:00.000Z",
      sentAt: NOW.toISOString(),
    });
    const resolved = alertPayload(condition({}, { status: "resolved", resolvedAt: "2026-12-02T00:59:00.000Z" }), "resolved", NOW);
    expect(validate(resolved), JSON.stringify(validate.errors)).toBe(true);
    expect(resolved).toMatchObject({ event: "drift-resolved", status: "resolved", severity: "info", summary: "Resolved: prod drifted", endsAt: "2026-12-02T00:59:00.000Z" });
    expect(resolved.diff).toBeUndefined();
    expect(alertPayload(condition({ kind: "apply-failed" }), "resolved", NOW).event).toBe("apply-failed");
  });

  it("rejects what the schema must reject", () => {
    const payload = alertPayload(condition(), "firing", NOW);
    expect(validate({ ...payload, apiVersion: "bosun.dev/alert/v2" })).toBe(false);
    expect(validate({ ...payload, event: "failed" })).toBe(false);
    expect(validate({ ...payload, url: "https://hooks.example" })).toBe(false);
    expect(validate({ ...payload, fingerprint: "xyz" })).toBe(false);
  });

  it("has a schema property for every field of the type and every event kind", () => {
    const typeFile = fs.readFileSync(path.join(ROOT, "src/notify/payload.ts"), "utf8");
    const body = /export interface AlertPayload \{([\s\S]*?)\n\}/.exec(typeFile)?.[1] ?? "";
    const fields = [...body.matchAll(/^ {2}(\w+)(\?)?:/gm)].map((m) => ({ name: m[1] ?? "", optional: m[2] === "?" }));
    expect(fields.length).toBeGreaterThan(10);
    expect(Object.keys(SCHEMA.properties).sort()).toEqual(fields.map((f) => f.name).sort());
    expect([...SCHEMA.required].sort()).toEqual(fields.filter((f) => !f.optional).map((f) => f.name).sort());
    expect(SCHEMA.properties.event?.enum).toEqual([...ALERT_KINDS]);
    for (const [name, property] of Object.entries(SCHEMA.properties)) expect(property.description, name).toBeTruthy();
  });

  it("cuts a long diff and says so", () => {
    const long = "+ line of a long diff\n".repeat(10_000);
    const payload = alertPayload(condition({ diff: long }), "firing", NOW);
    expect(payload.diffTruncated).toBe(true);
    expect(payload.diff?.length).toBeLessThanOrEqual(WEBHOOK_MAX_DIFF);
    expect(payload.diff).toMatch(/… \d+ more characters, see the plan$/);
  });
});

describe("truncateText", () => {
  it.each([
    ["short", 10, "short", false],
    ["aaaa\nbbbb\ncccc", 50, "aaaa\nbbbb\ncccc", false],
  ] as const)("%j in %d: unchanged", (text, max, out, truncated) => {
    expect(truncateText(text, max)).toEqual({ text: out, truncated });
  });

  it("stays within the limit and cuts at a line end when one is near", () => {
    const text = `${"x".repeat(99)}\n`.repeat(50);
    const cut = truncateText(text, 1000);
    expect(cut.text.length).toBeLessThanOrEqual(1000);
    expect(cut.text.split("\n").slice(0, -1).every((line) => line === "x".repeat(99))).toBe(true);
  });
});

describe("the signature", () => {
  it("is HMAC-SHA256 in hex (RFC 4231-style published vector)", () => {
    expect(signBody("The quick brown fox jumps over the lazy dog", "key")).toBe("sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  });

  it("verifies the exact body only, under the right key", () => {
    const signature = signBody('{"a":1}', "k");
    expect(verifySignature('{"a":1}', "k", signature)).toBe(true);
    expect(verifySignature('{"a":2}', "k", signature)).toBe(false);
    expect(verifySignature('{"a":1}', "other", signature)).toBe(false);
    expect(verifySignature('{"a":1}', "k", "sha256=00")).toBe(false);
  });

  it("is sent over the body bytes as sent, and only when the receiver has a key", () => {
    const receiver = { name: "hook", type: "webhook" as const, urlFromEnv: "BOSUN_SECRET_U", events: [...ALERT_KINDS] };
    const signed = webhookRequest({ receiver, url: "https://h.example/x", secret: "key-1" }, condition(), "firing", NOW);
    expect(signed.headers["X-Bosun-Signature"]).toBe(signBody(signed.body, "key-1"));
    expect(signed.headers["X-Bosun-Event"]).toBe("drift");
    expect(signed.body).not.toContain("h.example");
    expect(signed.body).not.toContain("key-1");
    const unsigned = webhookRequest({ receiver, url: "https://h.example/x" }, condition(), "firing", NOW);
    expect(unsigned.headers["X-Bosun-Signature"]).toBeUndefined();
  });
});

describe("fingerprints and condition keys", () => {
  it("keep the same condition state's fingerprint and change with the diff, the cluster or the kind", () => {
    const base = { kind: "drift" as const, cluster: "prod", diff: DIFF };
    expect(alertFingerprint(base)).toBe(alertFingerprint({ ...base }));
    expect(alertFingerprint(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(alertFingerprint({ ...base, diff: `${DIFF}+x\n` })).not.toBe(alertFingerprint(base));
    expect(alertFingerprint({ ...base, cluster: "staging" })).not.toBe(alertFingerprint(base));
    expect(alertFingerprint({ ...base, kind: "apply-failed" })).not.toBe(alertFingerprint(base));
  });

  it.each([
    [{ kind: "drift", cluster: "prod", wave: "w" }, "drift/prod/-"],
    [{ kind: "wave-halted", cluster: "prod", wave: "w" }, "wave-halted/-/w"],
    [{ kind: "invalid-spec" }, "invalid-spec/-/-"],
  ] as const)("%j is %s", (ref, key) => {
    expect(conditionKey(ref)).toBe(key);
  });
});

describe("Alertmanager alerts", () => {
  it.each(ALERT_KINDS.map((k) => [k]))("names %s", (kind) => {
    expect(alertName(kind)).toMatch(/^Bosun[A-Z][A-Za-z]+$/);
  });

  it("carry the labels that identify the alert and the annotations that describe it", () => {
    expect(alertName("apply-failed")).toBe("BosunApplyFailed");
    const alert = postableAlert(condition(), "firing", NOW, 300);
    expect(alert).toEqual({
      labels: { alertname: "BosunDrift", fleet: "acme", severity: "warning", cluster: "prod", wave: "prod" },
      annotations: { summary: "prod drifted", revision: "0123456789abcdef0123", diff: DIFF, plan_url: "https://bosun.example/clusters/prod" },
      startsAt: "2026-12-02T00:50:00.000Z",
      endsAt: new Date(NOW.getTime() + 4 * 300 * 1000).toISOString(),
      generatorURL: "https://bosun.example/clusters/prod",
    });
  });

  it("end at the resolution, leave out absent labels and cut the diff", () => {
    const resolved = postableAlert(condition({ cluster: undefined, wave: undefined, kind: "invalid-spec", diff: "x".repeat(20_000) }, { status: "resolved", resolvedAt: "2026-12-02T00:59:00.000Z" }), "resolved", NOW, 300);
    expect(resolved.endsAt).toBe("2026-12-02T00:59:00.000Z");
    expect(Object.keys(resolved.labels).sort()).toEqual(["alertname", "fleet", "severity"]);
    expect(resolved.annotations.diff?.length).toBeLessThanOrEqual(ALERTMANAGER_MAX_DIFF);
  });

  it("are refreshed every repeat interval, at most every five minutes", () => {
    expect(alertmanagerRefreshSeconds(4 * 3600)).toBe(300);
    expect(alertmanagerRefreshSeconds(60)).toBe(60);
  });

  it.each([
    ["http://am:9093", "http://am:9093/api/v2/alerts"],
    ["http://am:9093/", "http://am:9093/api/v2/alerts"],
    ["https://proxy.example/alertmanager/", "https://proxy.example/alertmanager/api/v2/alerts"],
  ])("post to %s as %s", (base, endpoint) => {
    expect(alertsEndpoint(base)).toBe(endpoint);
  });
});

describe("Slack messages", () => {
  it("have a text, the diff in a code block, and the facts with the plan link", () => {
    const message = slackMessage(condition(), "firing");
    expect(message.text).toBe(":warning: bosun acme: prod drifted");
    expect(JSON.stringify(message.blocks)).toContain("```--- a/prod:Deployment.apps/web/api");
    expect(JSON.stringify(message.blocks.at(-1))).toContain("<https://bosun.example/clusters/prod|plan>");
  });

  it("escape markup, keep a fence in the diff from closing the block and stay under Slack's 3000 characters", () => {
    const message = slackMessage(condition({ summary: "<!channel> & <http://evil|x>", diff: `${"```\n".repeat(5)}${"y".repeat(10_000)}` }), "firing");
    expect(message.text).toContain("&lt;!channel&gt; &amp; &lt;http://evil|x&gt;");
    const code = (message.blocks[1] as { text: { text: string } }).text.text;
    expect(code.length).toBeLessThanOrEqual(3000);
    expect(code.slice(3, -3)).not.toContain("```");
    expect(SLACK_MAX_DIFF).toBeLessThan(3000);
  });

  it("say a resolution without the diff", () => {
    const message = slackMessage(condition({}, { status: "resolved" }), "resolved");
    expect(message.text).toBe(":white_check_mark: bosun acme: Resolved: prod drifted");
    expect(message.blocks).toHaveLength(2);
  });
});

describe("urlSecrets", () => {
  it("lists the URL and the parts that can be credentials on their own", () => {
    const parts = urlSecrets("https://user:p4ssw0rd-long@hooks.example/services/T000/B000/XXXXXXXXXXXX?token=abcdefgh123");
    expect(parts).toContain("/services/T000/B000/XXXXXXXXXXXX");
    expect(parts).toContain("p4ssw0rd-long");
    expect(parts).toContain("abcdefgh123");
    expect(parts).not.toContain("user");
  });
});
