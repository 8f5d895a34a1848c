/** Which pods a drain evicts, and how a Job's conditions read. */
import { describe, expect, it } from "vitest";
import { mustEvict } from "../../../../src/drivers/kubeadm/drain.js";
import { jobState } from "../../../../src/kube/jobs.js";

const pod = (extra: Record<string, unknown> = {}, status?: string): Parameters<typeof mustEvict>[0] => ({
  metadata: { name: "p", namespace: "n", ownerReferences: [{ kind: "ReplicaSet", name: "rs", controller: true }], ...extra },
  ...(status ? { status: { phase: status } } : {}),
});

describe("mustEvict", () => {
  it("evicts controller-owned running pods", () => {
    expect(mustEvict(pod())).toBe(true);
  });
  it("skips DaemonSet pods, mirror pods and finished pods", () => {
    expect(mustEvict(pod({ ownerReferences: [{ kind: "DaemonSet", name: "ds", controller: true }] }))).toBe(false);
    expect(mustEvict(pod({ annotations: { "kubernetes.io/config.mirror": "x" } }))).toBe(false);
    expect(mustEvict(pod({}, "Succeeded"))).toBe(false);
    expect(mustEvict(pod({}, "Failed"))).toBe(false);
  });
});

describe("jobState", () => {
  it("reads Complete, Failed (with reason) and running", () => {
    expect(jobState({ metadata: { name: "j", namespace: "n" }, status: { conditions: [{ type: "Complete", status: "True" }] } })).toBe("succeeded");
    expect(jobState({ metadata: { name: "j", namespace: "n" }, status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] } })).toEqual({
      failed: "BackoffLimitExceeded: Job has reached the specified backoff limit",
    });
    expect(jobState({ metadata: { name: "j", namespace: "n" }, status: { active: 1 } })).toBe("running");
  });
});
