import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../../../src/kube/config.js";
import { KubeRest } from "../../../src/kube/rest.js";
import { LeaseMembership, microTimeText, replicaLeaseExpiry, replicaLeaseName } from "../../../src/daemon/shards.js";
import { InvalidInputError } from "../../../src/errors.js";

describe("replicaLeaseName", () => {
  it.each([
    ["bosun-0", /^bosun-replica-bosun-0-[0-9a-f]{10}$/],
    ["Pod_1.example", /^bosun-replica-pod-1-example-[0-9a-f]{10}$/],
    ["___", /^bosun-replica-[0-9a-f]{10}$/],
  ])("names the Lease of %j in DNS-1123 form", (self, pattern) => {
    const name = replicaLeaseName(self);
    expect(name).toMatch(pattern);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it("keeps ids that sanitise alike apart, and stays short for long ids", () => {
    expect(replicaLeaseName("Pod_1")).not.toBe(replicaLeaseName("pod-1"));
    expect(replicaLeaseName("x".repeat(253)).length).toBeLessThanOrEqual(65);
  });
});

describe("microTimeText", () => {
  it("writes six fractional digits, as the API server requires of a MicroTime", () => {
    expect(microTimeText(new Date("2026-12-02T00:39:10.123Z"))).toBe("2026-12-02T00:39:10.123000Z");
  });
});

describe("replicaLeaseExpiry", () => {
  it.each([
    ["renewTime + duration", { renewTime: "2026-01-01T00:00:10.000000Z", acquireTime: "2026-01-01T00:00:00.000000Z", leaseDurationSeconds: 15 }, "2026-01-01T00:00:25.000Z"],
    ["acquireTime when never renewed", { acquireTime: "2026-01-01T00:00:00.000000Z", leaseDurationSeconds: 15 }, "2026-01-01T00:00:15.000Z"],
    ["nothing without a duration", { renewTime: "2026-01-01T00:00:10.000000Z" }, undefined],
    ["nothing for a zero duration", { renewTime: "2026-01-01T00:00:10.000000Z", leaseDurationSeconds: 0 }, undefined],
    ["nothing for an unparsable time", { renewTime: "yesterday", leaseDurationSeconds: 15 }, undefined],
  ])("takes %s", (_what, spec, expected) => {
    expect(replicaLeaseExpiry({ spec })?.toISOString()).toBe(expected);
  });
});

describe("LeaseMembership options", () => {
  const rest = new KubeRest(loadKubeConfigStub(), { cluster: "state" });

  it.each([
    [{ leaseSeconds: 0 }, "replica lease must be a whole number of seconds, at least 1 (got 0)"],
    [{ leaseSeconds: 2.5 }, "replica lease must be a whole number of seconds, at least 1 (got 2.5)"],
    [{ leaseSeconds: 10, renewEverySeconds: 10 }, "replica heartbeat must be positive and shorter than the lease (10 s), got 10 s"],
    [{ renewEverySeconds: 0 }, "replica heartbeat must be positive and shorter than the lease (15 s), got 0 s"],
    [{ self: " " }, 'replica id must be 1 to 253 characters (got " ")'],
  ])("refuses %j", (options, message) => {
    expect(() => new LeaseMembership({ rest, namespace: "bosun", self: "bosun-0", ...options })).toThrow(new InvalidInputError(message));
  });

  it("owns nothing before it started", () => {
    const membership = new LeaseMembership({ rest, namespace: "bosun", self: "bosun-0" });
    expect(membership.owns("alpha")).toBe(false);
    expect(membership.replicas()).toEqual([]);
  });

  it("does not start once its signal aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("shutting down"));
    const membership = new LeaseMembership({ rest, namespace: "bosun", self: "bosun-0", signal: controller.signal });
    await expect(membership.start()).rejects.toThrow("shutting down");
  });
});

/** A kubeconfig for a server nobody listens on: these tests send no request. */
function loadKubeConfigStub(): ReturnType<typeof loadKubeConfig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bosun-shards-"));
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    file,
    ["apiVersion: v1", "kind: Config", "clusters: [{name: state, cluster: {server: 'https://127.0.0.1:9'}}]", "users: [{name: u, user: {token: t}}]", "contexts: [{name: state, context: {cluster: state, user: u}}]", "current-context: state", ""].join("\n"),
  );
  return loadKubeConfig(file);
}
