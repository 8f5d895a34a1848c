/** Workload health (src/addons/health.ts): the verdict on status objects, and the polling wait with a fake cluster and clock. */
import { describe, expect, it } from "vitest";
import { AddonApplyError, HealthTimeoutError, evaluateHealth, isWorkload, waitHealthy, type Health } from "../../../src/addons/health.js";
import type { KubeObject } from "../../../src/kube/rest.js";

function workload(kind: string, spec: Record<string, unknown>, status: Record<string, unknown> | undefined, generation = 2): KubeObject {
  const apiVersion = kind === "Job" ? "batch/v1" : "apps/v1";
  return { apiVersion, kind, metadata: { name: "w", namespace: "ns", generation }, spec, ...(status ? { status } : {}) };
}

const ready: Health = { state: "ready" };
const progressing = (reason: string): Health => ({ state: "progressing", reason });

describe("evaluateHealth", () => {
  it.each<[string, KubeObject, Health]>([
    ["Deployment rolled out", workload("Deployment", { replicas: 3 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }), ready],
    ["Deployment with replicas unset (1)", workload("Deployment", {}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 }), ready],
    ["Deployment scaled to zero", workload("Deployment", { replicas: 0 }, { observedGeneration: 2 }), ready],
    ["Deployment not yet observed", workload("Deployment", { replicas: 3 }, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }), progressing("waiting for the controller to observe generation 2")],
    ["Deployment without status", workload("Deployment", { replicas: 3 }, undefined), progressing("waiting for the controller to observe generation 2")],
    ["Deployment updating", workload("Deployment", { replicas: 3 }, { observedGeneration: 2, replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }), progressing("2/3 replicas updated")],
    ["Deployment with old replicas left", workload("Deployment", { replicas: 3 }, { observedGeneration: 2, replicas: 4, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }), progressing("1 old replicas pending termination")],
    ["Deployment not ready", workload("Deployment", { replicas: 3 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 1, availableReplicas: 1 }), progressing("1/3 replicas ready")],
    ["Deployment ready, not yet available", workload("Deployment", { replicas: 3 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 2 }), progressing("2/3 replicas available")],
    [
      "Deployment past its progress deadline",
      workload("Deployment", { replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 0, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] }),
      progressing("0/2 replicas ready (progress deadline exceeded)"),
    ],
    ["StatefulSet rolled out", workload("StatefulSet", { replicas: 2 }, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, currentRevision: "r2", updateRevision: "r2" }), ready],
    ["StatefulSet not ready", workload("StatefulSet", { replicas: 2 }, { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 2, currentRevision: "r2", updateRevision: "r2" }), progressing("1/2 replicas ready")],
    ["StatefulSet updating", workload("StatefulSet", { replicas: 2 }, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 1, currentRevision: "r1", updateRevision: "r2" }), progressing("1/2 replicas updated")],
    ["StatefulSet revision not switched", workload("StatefulSet", { replicas: 2 }, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2, currentRevision: "r1", updateRevision: "r2" }), progressing("revision r1 is not yet r2")],
    [
      "StatefulSet with a partition",
      workload("StatefulSet", { replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } }, { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1, currentRevision: "r1", updateRevision: "r2" }),
      ready,
    ],
    ["StatefulSet OnDelete", workload("StatefulSet", { replicas: 2, updateStrategy: { type: "OnDelete" } }, { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 0, currentRevision: "r1", updateRevision: "r2" }), ready],
    ["DaemonSet rolled out", workload("DaemonSet", {}, { observedGeneration: 2, desiredNumberScheduled: 5, updatedNumberScheduled: 5, numberReady: 5, numberAvailable: 5 }), ready],
    ["DaemonSet updating", workload("DaemonSet", {}, { observedGeneration: 2, desiredNumberScheduled: 5, updatedNumberScheduled: 3, numberReady: 5, numberAvailable: 5 }), progressing("3/5 pods updated")],
    ["DaemonSet not ready", workload("DaemonSet", {}, { observedGeneration: 2, desiredNumberScheduled: 5, updatedNumberScheduled: 5, numberReady: 4, numberAvailable: 4 }), progressing("4/5 pods ready")],
    ["DaemonSet OnDelete", workload("DaemonSet", { updateStrategy: { type: "OnDelete" } }, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 0, numberReady: 2, numberAvailable: 2 }), ready],
    ["Job complete", workload("Job", { completions: 1 }, { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] }), ready],
    ["Job running", workload("Job", { completions: 3 }, { succeeded: 1 }), progressing("1/3 completions")],
    ["Job failed", workload("Job", {}, { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] }), { state: "failed", reason: "failed (BackoffLimitExceeded)" }],
    ["Job suspended", workload("Job", { suspend: true }, {}), ready],
    ["anything else", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }, ready],
  ])("%s", (_name, object, expected) => {
    expect(evaluateHealth(object)).toEqual(expected);
  });

  it.each([
    ["apps/v1", "Deployment", true],
    ["batch/v1", "Job", true],
    ["apps/v1", "ReplicaSet", false],
    ["example.com/v1", "Deployment", false],
  ])("isWorkload(%s %s) is %s", (apiVersion, kind, expected) => {
    expect(isWorkload({ apiVersion, kind })).toBe(expected);
  });
});

/** A cluster of `objects` whose statuses change after each poll (`next`), with a clock that moves only in sleeps. */
function fakeCluster(objects: Record<string, KubeObject[]>): { ctx: Parameters<typeof waitHealthy>[0]; gets: string[]; sleeps: number[] } {
  let clock = 0;
  const round = new Map<string, number>();
  const gets: string[] = [];
  const sleeps: number[] = [];
  return {
    gets,
    sleeps,
    ctx: {
      rest: {
        cluster: "alpha",
        get: <T>(path: string): Promise<T | null> => {
          gets.push(path);
          const versions = objects[path];
          if (!versions) return Promise.resolve(null);
          const n = round.get(path) ?? 0;
          round.set(path, n + 1);
          return Promise.resolve((versions[Math.min(n, versions.length - 1)] ?? null) as T | null);
        },
      },
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      now: () => clock,
    },
  };
}

const DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/echo/deployments/echo";
const JOB_PATH = "/apis/batch/v1/namespaces/echo/jobs/migrate";
const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "echo", namespace: "echo" } };
const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: "echo" } };
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "echo" } };
const rolling = (ready: number): KubeObject => ({ ...deployment, metadata: { ...deployment.metadata, generation: 1 }, spec: { replicas: 3 }, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: ready, availableReplicas: ready } });

describe("waitHealthy", () => {
  it("polls with growing pauses until every workload is ready; other kinds are not read", async () => {
    const { ctx, gets, sleeps } = fakeCluster({ [DEPLOYMENT_PATH]: [rolling(0), rolling(1), rolling(2), rolling(3)] });
    await waitHealthy(ctx, [configMap, deployment], 60_000);
    expect(gets).toEqual([DEPLOYMENT_PATH, DEPLOYMENT_PATH, DEPLOYMENT_PATH, DEPLOYMENT_PATH]);
    expect(sleeps).toEqual([500, 750, 1125]);
  });

  it("times out naming every workload that is not ready, and why", async () => {
    const { ctx, sleeps } = fakeCluster({ [DEPLOYMENT_PATH]: [rolling(1)] });
    const error = await waitHealthy(ctx, [deployment, job], 30_000, { addon: "echo" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealthTimeoutError);
    expect(error).toMatchObject({
      reason: "HealthTimeout",
      retryable: true,
      phase: "health",
      notReady: [
        { identity: "alpha:Deployment.apps/echo/echo", reason: "1/3 replicas ready" },
        { identity: "alpha:Job.batch/echo/migrate", reason: "does not exist" },
      ],
    });
    expect((error as Error).message).toBe("add-on echo: not ready after 30s: alpha:Deployment.apps/echo/echo: 1/3 replicas ready; alpha:Job.batch/echo/migrate: does not exist");
    // 0.5 s growing by half to at most 5 s, the last pause cut to the deadline.
    expect(sleeps).toEqual([500, 750, 1125, 1688, 2532, 3798, 5000, 5000, 5000, 4607]);
  });

  it("names the step's whole timeout when the wait only got what was left of it", async () => {
    const { ctx } = fakeCluster({ [DEPLOYMENT_PATH]: [rolling(2)] });
    const error = await waitHealthy(ctx, [deployment], 1_200, { addon: "echo", reportedTimeoutMs: 300_000 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("add-on echo: not ready after 300s: alpha:Deployment.apps/echo/echo: 2/3 replicas ready");
  });

  it("a failed Job ends the wait at once", async () => {
    const failed = { ...job, spec: {}, status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] } };
    const { ctx, sleeps } = fakeCluster({ [JOB_PATH]: [failed], [DEPLOYMENT_PATH]: [rolling(0)] });
    const error = await waitHealthy(ctx, [deployment, job], 60_000, { addon: "echo" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AddonApplyError);
    expect(error).toMatchObject({ reason: "ApplyFailed", phase: "health", identity: "alpha:Job.batch/echo/migrate", message: "add-on echo: alpha:Job.batch/echo/migrate: failed (BackoffLimitExceeded)" });
    expect(sleeps).toEqual([]);
  });

  it("nothing to wait for returns at once", async () => {
    const { ctx, gets } = fakeCluster({});
    await waitHealthy(ctx, [configMap], 0);
    expect(gets).toEqual([]);
  });
});
