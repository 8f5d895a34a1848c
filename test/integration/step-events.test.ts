/**
 * Step Events in the target cluster: one cluster's run (gamma, a one-step plan from the fixture fleet
 * test/fixtures/fleets/plan) with `stepEventRecorder` as its step listener leaves a StepStarted and a
 * StepSucceeded Event in bosun-system, regarding the journal, named after the run.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCluster } from "../../src/apply/execute.js";
import { newRunId } from "../../src/apply/lock.js";
import { stepEventRecorder } from "../../src/apply/step-events.js";
import { ETCD_BACKUP_CRONJOB } from "../../src/backup/template.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import { loadFleet } from "../../src/spec/load.js";
import { eventually, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/plan");
const EVENTS = "/apis/events.k8s.io/v1/namespaces/bosun-system/events";
const gamma = sandboxCluster("gamma");
let fleetDir: string;
let env: NodeJS.ProcessEnv;
const runId = newRunId();

interface EventObject {
  metadata: { name: string; namespace: string };
  reason: string;
  type: string;
  action: string;
  note: string;
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind: string; namespace: string; name: string };
}

beforeAll(async () => {
  fleetDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-step-events-"));
  await fs.cp(FIXTURE, fleetDir, { recursive: true });
  env = { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_SECRET_PLAN_GREETER_TOKEN: randomBytes(12).toString("hex"), BOSUN_HELM: sharedSandbox().binaries.helm, BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize };
  // The backup CronJob must be missing for the plan to schedule it.
  await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB }).catch(() => undefined);
});

afterAll(async () => {
  const rest = sandboxRest("gamma");
  for (const event of await rest.list<EventObject>(EVENTS).catch(() => [])) {
    if (event.metadata.name.startsWith(`bosun-${runId}-`)) await rest.remove(`${EVENTS}/${event.metadata.name}`).catch(() => undefined);
  }
  await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB }).catch(() => undefined);
  await gamma.core.deleteNamespacedConfigMap({ name: "bosun-journal", namespace: "bosun-system" }).catch(() => undefined);
  rest.close();
  await fs.rm(fleetDir, { recursive: true, force: true });
});

describe("step events", () => {
  it("records a started and a succeeded Event for the step, with the step's fields", async () => {
    const planned = await planFleet({ source: { fleet: fleetDir }, clusters: ["gamma"], env, clusterTimeoutMs: 60_000, now: new Date() });
    const loaded = await loadFleet(fleetDir);
    if (!planned.ok || !loaded.ok) throw new Error("fixture fleet invalid");
    const full = planned.plan.clusters[0];
    const desired = loaded.value.clusters.find((c) => c.name === "gamma");
    if (!full || !desired) throw new Error("no plan for gamma");
    // One step is enough; the add-on steps of the same plan are other tests' business.
    const plan = { ...full, steps: full.steps.filter((s) => s.kind === "backup.schedule") };
    expect(plan.steps.map((s) => s.id)).toEqual(["gamma/backup.schedule"]);

    const failures: string[] = [];
    const lines: string[] = [];
    const before = Date.now();
    const outcome = await executeCluster({
      desired,
      plan,
      rest: sandboxRest("gamma"),
      fleetDir,
      env,
      runId,
      planRevision: "0123abcd",
      leaseSeconds: 30,
      helm: sharedSandbox().binaries.helm ?? "helm",
      kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
      log: (line) => lines.push(line),
      onStep: stepEventRecorder({ reportingInstance: "bosun-test-0", log: (message) => failures.push(message) }),
    }, new AbortController().signal);
    expect(outcome, lines.join("\n")).toEqual({ kind: "converged", steps: 1 });

    const rest = sandboxRest("gamma");
    const events = await eventually("both step events", async () => {
      const mine = (await rest.list<EventObject>(EVENTS)).filter((e) => e.metadata.name.startsWith(`bosun-${runId}-`));
      return mine.length >= 2 ? mine : undefined;
    }, 30_000);
    rest.close();
    expect(failures).toEqual([]);
    const sorted = [...events].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    expect(sorted.map((e) => [e.metadata.name, e.reason, e.type])).toEqual([
      [`bosun-${runId}-1`, "StepStarted", "Normal"],
      [`bosun-${runId}-2`, "StepSucceeded", "Normal"],
    ]);
    for (const event of sorted) {
      expect(event).toMatchObject({
        action: "backup.schedule",
        reportingController: "bosun.dev/bosun",
        reportingInstance: "bosun-test-0",
        regarding: { kind: "ConfigMap", namespace: "bosun-system", name: "bosun-journal" },
      });
      expect(event.note).toContain("gamma/backup.schedule");
      expect(event.note).toContain(`run ${runId}`);
      expect(event.note).toContain("revision 0123abcd");
      // The API server keeps the MicroTime it was sent: between the run's start and now.
      expect(Date.parse(event.eventTime)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(event.eventTime)).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(sorted[0]?.note).toContain(plan.steps[0]?.summary ?? "?");
  });

  it("records a failure as a Warning the API server accepts, however long and hostile its reason", async () => {
    const rest = sandboxRest("gamma");
    const failures: string[] = [];
    const record = stepEventRecorder({ reportingInstance: "bosun-test-0", log: (message) => failures.push(message) });
    const failedRun = `${runId}f`;
    record({
      cluster: "gamma",
      step: { id: "gamma/addon.install/web", kind: "addon.install", summary: "install web" },
      phase: "failed",
      runId: failedRun,
      revision: null,
      detail: `helm said:\n\u001b[31m${"é".repeat(3000)}`,
      seconds: 4.2,
      rest,
    });
    const event = await eventually("the failure event", async () => (await rest.get<EventObject>(`${EVENTS}/bosun-${failedRun}-1`)) ?? undefined, 30_000);
    await rest.remove(`${EVENTS}/bosun-${failedRun}-1`);
    rest.close();
    expect(failures).toEqual([]);
    expect(event).toMatchObject({ reason: "StepFailed", type: "Warning", action: "addon.install" });
    expect(event.note.startsWith("gamma/addon.install/web failed (4.2 s): helm said:\\n\\u001b[31m")).toBe(true);
    expect(Buffer.byteLength(event.note, "utf8")).toBeLessThanOrEqual(1024);
  });

  it("reports an event it could not write through its log, and never throws", async () => {
    const rest = sandboxRest("gamma");
    const failures: string[] = [];
    const record = stepEventRecorder({ reportingInstance: "bosun-test-0", log: (message) => failures.push(message) });
    // A run id with capitals makes an invalid object name: the API server refuses it (422).
    expect(() => {
      record({ cluster: "gamma", step: { id: "gamma/backup.schedule", kind: "backup.schedule", summary: "schedule" }, phase: "started", runId: "NotValid", revision: null, rest });
    }).not.toThrow();
    const message = await eventually("the logged failure", () => Promise.resolve(failures[0]), 30_000);
    rest.close();
    expect(message).toMatch(/^gamma: could not record event bosun-NotValid-1 \(StepStarted gamma\/backup.schedule\): HTTP 422 \(Invalid\)$/);
  });
});
