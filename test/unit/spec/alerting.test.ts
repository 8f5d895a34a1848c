/**
 * `spec.alerting`: both forms load (the first form's `webhooks` with its event names mapped to today's),
 * defaults fill in, and what the rules refuse is refused at its file, line and field.
 */
import fs from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../../src/spec/issues.js";
import { loadFleet } from "../../../src/spec/load.js";
import { ALERT_KINDS } from "../../../src/spec/types.js";
import { fleetBuilder, lineOf, type FleetBuilder } from "./builder.js";

const FLEET = "fleet.yaml";
const written: string[] = [];

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function load(builder: FleetBuilder): Promise<Awaited<ReturnType<typeof loadFleet>>> {
  const dir = await builder.write();
  written.push(dir);
  return loadFleet(dir, {});
}

describe("alerting", () => {
  it("defaults to no receivers, a 4h repeat interval and 10m before unreachable", async () => {
    const result = await load(fleetBuilder());
    expect(result.ok ? result.value.alerting : result.errors.map(formatIssue)).toEqual({ receivers: [], repeatIntervalSeconds: 14_400, unreachableAfterSeconds: 600 });
  });

  it("reads the first form, mapping its events, then the receivers, with every event by default", async () => {
    const builder = fleetBuilder().set(FLEET, ["spec", "alerting"], {
      webhooks: [
        { name: "old", urlFromEnv: "BOSUN_SECRET_OLD", events: ["failed", "drift"] },
        { name: "old-all", urlFromEnv: "BOSUN_SECRET_OLD_ALL" },
        { name: "blocked", urlFromEnv: "BOSUN_SECRET_B", events: ["blocked", "halted"] },
      ],
      receivers: [
        { name: "am", type: "alertmanager", urlFromEnv: "BOSUN_SECRET_AM" },
        { name: "hook", type: "webhook", urlFromEnv: "BOSUN_SECRET_HOOK", secretFromEnv: "BOSUN_SECRET_HOOK_KEY", events: ["wave-halted", "drift"] },
      ],
      repeatInterval: "1h30m",
      unreachableAfter: "5m",
    });
    const result = await load(builder);
    expect(result.ok ? result.value.alerting : result.errors.map(formatIssue)).toEqual({
      receivers: [
        { name: "old", type: "webhook", urlFromEnv: "BOSUN_SECRET_OLD", events: ["drift", "drift-resolved", "apply-failed", "backup-failed"] },
        { name: "old-all", type: "webhook", urlFromEnv: "BOSUN_SECRET_OLD_ALL", events: [...ALERT_KINDS] },
        { name: "blocked", type: "webhook", urlFromEnv: "BOSUN_SECRET_B", events: ["wave-halted", "invalid-spec", "cluster-unreachable"] },
        { name: "am", type: "alertmanager", urlFromEnv: "BOSUN_SECRET_AM", events: [...ALERT_KINDS] },
        { name: "hook", type: "webhook", urlFromEnv: "BOSUN_SECRET_HOOK", secretFromEnv: "BOSUN_SECRET_HOOK_KEY", events: ["drift", "wave-halted"] },
      ],
      repeatIntervalSeconds: 5400,
      unreachableAfterSeconds: 300,
    });
  });

  const cases: { name: string; alerting: Record<string, unknown>; needle: string; field: string; message: string }[] = [
    {
      name: "a signing key on an Alertmanager",
      alerting: { receivers: [{ name: "am", type: "alertmanager", urlFromEnv: "BOSUN_SECRET_AM", secretFromEnv: "BOSUN_SECRET_KEY" }] },
      needle: "secretFromEnv: BOSUN_SECRET_KEY",
      field: "spec.alerting.receivers[0].secretFromEnv",
      message: 'receiver "am" is of type alertmanager: only a webhook receiver signs its payload',
    },
    {
      name: "one name in both forms",
      alerting: { webhooks: [{ name: "x", urlFromEnv: "BOSUN_SECRET_A" }], receivers: [{ name: "x", type: "slack", urlFromEnv: "BOSUN_SECRET_B" }] },
      needle: "name: x",
      field: "spec.alerting.receivers[0].name",
      message: "alert receiver",
    },
    {
      name: "a receiver's URL from any variable",
      alerting: { receivers: [{ name: "s", type: "slack", urlFromEnv: "SLACK_URL" }] },
      needle: "urlFromEnv: SLACK_URL",
      field: "spec.alerting.receivers[0].urlFromEnv",
      message: "environment variable SLACK_URL is not allowed",
    },
    {
      name: "a signing key from bosun's own credentials",
      alerting: { receivers: [{ name: "h", type: "webhook", urlFromEnv: "BOSUN_SECRET_H", secretFromEnv: "BOSUN_GIT_TOKEN" }] },
      needle: "secretFromEnv: BOSUN_GIT_TOKEN",
      field: "spec.alerting.receivers[0].secretFromEnv",
      message: "BOSUN_GIT_TOKEN is one of bosun's own credentials",
    },
    {
      name: "a repeat interval of 0s",
      alerting: { repeatInterval: "0s" },
      needle: "repeatInterval: 0s",
      field: "spec.alerting.repeatInterval",
      message: "must be longer than 0s",
    },
    {
      name: "an unknown receiver type",
      alerting: { receivers: [{ name: "p", type: "pagerduty", urlFromEnv: "BOSUN_SECRET_P" }] },
      needle: "type: pagerduty",
      field: "spec.alerting.receivers[0].type",
      message: "",
    },
    {
      name: "an old event name in receivers",
      alerting: { receivers: [{ name: "p", type: "webhook", urlFromEnv: "BOSUN_SECRET_P", events: ["failed"] }] },
      needle: "- failed",
      field: "spec.alerting.receivers[0].events[0]",
      message: "",
    },
  ];

  it.each(cases)("refuses $name at its file, line and field", async ({ alerting, needle, field, message }) => {
    const builder = fleetBuilder().set(FLEET, ["spec", "alerting"], alerting);
    const text = builder.render().get(FLEET) ?? "";
    const line = lineOf(text, needle, needle === "name: x" ? 2 : 1);
    const result = await load(builder);
    const errors = result.ok ? [] : result.errors;
    const match = errors.find((e) => e.file === FLEET && e.line === line && e.path === field && e.message.includes(message));
    expect(match, `expected ${FLEET}:${line} (at ${field}): …${message}… among:\n${errors.map(formatIssue).join("\n")}\n${text}`).toBeDefined();
  });
});
