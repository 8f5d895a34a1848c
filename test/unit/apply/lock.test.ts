/**
 * The pure parts of the cluster lock: holder identity, expiry, the message a second apply gets, Lease time
 * handling, and how client errors become bosun's.
 */
import os from "node:os";
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeFailure } from "../../../src/kube/errors.js";
import { ClusterLockedError, formatUtc, leaseExpiry, leaseStatus, leaseTime, lockedMessage, microTime } from "../../../src/apply/lease.js";
import { holderIdentity, newRunId } from "../../../src/apply/lock.js";
import { KubeApiError, UnreachableError } from "../../../src/kube/rest.js";

const at = (time: string): Date => new Date(`2025-06-01T${time}Z`);

describe("holder identity", () => {
  it("names host, pid and run", () => {
    expect(holderIdentity("ab12cd34ef56", "ci-7", 4242)).toBe("bosun@ci-7/pid 4242/ab12cd34ef56");
  });

  it("defaults to this host and process, with a fresh random run id each time", () => {
    const first = newRunId();
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    expect(newRunId()).not.toBe(first);
    expect(holderIdentity(first)).toBe(`bosun@${os.hostname()}/pid ${process.pid}/${first}`);
  });
});

describe("lease expiry", () => {
  const spec = { holderIdentity: "other", leaseDurationSeconds: 120, acquireTime: "2025-06-01T12:00:00.000000Z", renewTime: "2025-06-01T12:03:10.500000Z" };

  it("is the last renewal plus the duration", () => {
    expect(leaseExpiry(spec as never)?.toISOString()).toBe("2025-06-01T12:05:10.500Z");
  });

  it("falls back on the acquire time, and is unknown without a time or a duration", () => {
    expect(leaseExpiry({ ...spec, renewTime: undefined } as never)?.toISOString()).toBe("2025-06-01T12:02:00.000Z");
    expect(leaseExpiry({ holderIdentity: "x", leaseDurationSeconds: 10 })).toBeUndefined();
    expect(leaseExpiry({ holderIdentity: "x", renewTime: microTime(at("12:00:00")) })).toBeUndefined();
    expect(leaseExpiry({ holderIdentity: "x", renewTime: microTime(at("12:00:00")), leaseDurationSeconds: 0 })).toBeUndefined();
  });

  it.each([
    ["12:05:10.499", "held"],
    ["12:05:10.500", "expired"],
    ["12:09:00.000", "expired"],
  ])("at %s the other holder's lease is %s", (now, kind) => {
    expect(leaseStatus(spec as never, "me", at(now)).kind).toBe(kind);
  });

  it("reports holder, since and until of a held lease", () => {
    expect(leaseStatus(spec as never, "me", at("12:04:00"))).toEqual({
      kind: "held",
      holder: "other",
      since: new Date("2025-06-01T12:00:00.000Z"),
      until: new Date("2025-06-01T12:05:10.500Z"),
    });
  });

  it("sees a lease without holder as free, our own as ours, one without times as expired", () => {
    expect(leaseStatus(undefined, "me", at("12:00:00")).kind).toBe("free");
    expect(leaseStatus({ ...spec, holderIdentity: "" } as never, "me", at("12:00:00")).kind).toBe("free");
    expect(leaseStatus({ ...spec, holderIdentity: "me" } as never, "me", at("12:04:00")).kind).toBe("ours");
    expect(leaseStatus({ holderIdentity: "other" }, "me", at("12:00:00"))).toEqual({ kind: "expired", holder: "other", until: new Date(0) });
  });
});

describe("Lease times", () => {
  it("writes MicroTime with the six fractional digits the API server requires", () => {
    expect(JSON.stringify({ t: microTime(new Date("2025-06-01T12:03:10.123Z")) })).toBe('{"t":"2025-06-01T12:03:10.123000Z"}');
  });

  it("reads the strings client-node hands back, and Dates", () => {
    expect(leaseTime("2025-06-01T12:03:10.123456Z")?.toISOString()).toBe("2025-06-01T12:03:10.123Z");
    expect(leaseTime(new Date("2025-06-01T12:03:10Z"))?.toISOString()).toBe("2025-06-01T12:03:10.000Z");
    expect(leaseTime("yesterday")).toBeUndefined();
    expect(leaseTime(undefined)).toBeUndefined();
    expect(leaseTime(new Date(Number.NaN))).toBeUndefined();
  });
});

describe("the message a second apply gets", () => {
  it("names the cluster, the holder, since and until when, and what to do", () => {
    expect(lockedMessage("prod-eu-1", "bosun@ci-7/pid 4242/ab12", at("12:03:10.250"), at("12:05:10.250"))).toBe(
      "cluster prod-eu-1 is locked by bosun@ci-7/pid 4242/ab12 since 2025-06-01 12:03:10 UTC (lease valid until 2025-06-01 12:05:10 UTC): another apply is running; it expires if that process died",
    );
  });

  it("leaves out since when the Lease does not say", () => {
    expect(lockedMessage("c", "h", undefined, at("12:05:10"))).toBe(
      "cluster c is locked by h (lease valid until 2025-06-01 12:05:10 UTC): another apply is running; it expires if that process died",
    );
  });

  it("is a typed, retryable error with reason Locked and the Lease's identity", () => {
    const error = new ClusterLockedError("c", "h", at("12:00:00"), at("12:02:00"));
    expect(error).toMatchObject({ reason: "Locked", retryable: true, identity: "c:Lease.coordination.k8s.io/bosun-system/bosun-lock", holder: "h", cluster: "c" });
    expect(formatUtc(at("00:00:00"))).toBe("2025-06-01 00:00:00 UTC");
  });
});

describe("client errors", () => {
  it("keeps the API server's message and reason, not the whole response", () => {
    const error = kubeFailure("c", "create Lease", new ApiException(403, "Unknown API Status Code!", { kind: "Status", reason: "Forbidden", message: "leases is forbidden" }, { "x-secret-header": "no" }));
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error.message).toBe("cluster c: create Lease: HTTP 403: leases is forbidden");
    expect((error as KubeApiError).statusReason).toBe("Forbidden");
  });

  it("reads a body that is still text, and calls an error without status unreachable", () => {
    expect(kubeFailure("c", "x", new ApiException(500, "m", '{"message":"etcd down"}', {})).message).toBe("cluster c: x: HTTP 500: etcd down");
    expect(kubeFailure("c", "x", new ApiException(502, "m", "<html>", {})).message).toBe("cluster c: x: HTTP 502: error");
    const unreachable = kubeFailure("c", "x", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect(unreachable).toBeInstanceOf(UnreachableError);
    expect(unreachable.retryable).toBe(true);
  });
});
