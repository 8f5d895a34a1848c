/**
 * Full mode on the shared sandbox: controllers, scheduler and kwok make workloads behave — a Deployment
 * becomes Available and a Job completes — through the real API server.
 */
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, sandboxCluster } from "../support/sandbox.js";

const NS = `full-mode-${Date.now()}`;

describe("full-mode sandbox", () => {
  const { core, apps, batch } = sandboxCluster("beta");

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: NS });
  });

  it("rolls a 2-replica Deployment out until it is Available", async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "registry.k8s.io/pause:3.10" }] } },
        },
      },
    });
    const deployment = await eventually("deployment web available", async () => {
      const d = await apps.readNamespacedDeployment({ name: "web", namespace: NS });
      return available(d) ? d : undefined;
    });
    expect(deployment.status?.readyReplicas).toBe(2);
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: "app=web" });
    expect(pods.items).toHaveLength(2);
    // The scheduler placed them on the worker (the control-plane node is tainted).
    expect(new Set(pods.items.map((p) => p.spec?.nodeName))).toEqual(new Set(["beta-worker-1"]));
  });

  it("runs a Job to completion", async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: {
        metadata: { name: "once" },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: "Never", containers: [{ name: "once", image: "registry.k8s.io/pause:3.10" }] } },
        },
      },
    });
    const job = await eventually("job once complete", async () => {
      const j = await batch.readNamespacedJob({ name: "once", namespace: NS });
      return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") ? j : undefined;
    });
    expect(job.status?.succeeded).toBe(1);
  });
});

function available(d: k8s.V1Deployment): boolean {
  return d.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") === true && d.status.readyReplicas === 2;
}
