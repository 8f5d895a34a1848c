import { describe, expect, it } from "vitest";
import { ScmApiError, scmError } from "../../../src/scm/errors.js";

const TOKEN = "ghp_canary0123456789abcdefghijklmnop";

describe("scmError", () => {
  it.each([
    [401, "Unauthorized", false],
    [403, "Unauthorized", false],
    [404, "InvalidInput", false],
    [422, "InvalidInput", false],
    [429, "Unreachable", true],
    [502, "Unreachable", true],
    [undefined, "Unreachable", true],
  ] as const)("HTTP %s is %s (retryable %s)", (status, reason, retryable) => {
    const error = scmError("GitHub", "commenting on acme/fleet#1", Object.assign(new Error("boom"), status === undefined ? {} : { status }), [TOKEN]);
    expect(error).toBeInstanceOf(ScmApiError);
    expect(error.reason).toBe(reason);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
  });

  it("reads gitbeaker's status from the cause", () => {
    const error = scmError("GitLab", "adding a note", Object.assign(new Error("Forbidden"), { cause: { response: { status: 403 } } }), [TOKEN]);
    expect(error.status).toBe(403);
    expect(error.message).toBe("GitLab API: adding a note: HTTP 403: Forbidden");
  });

  it("scrubs the token in every form a server or a library could echo, and keeps no cause", () => {
    const echoed = `bad header Authorization: token ${TOKEN}; basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}; q=${encodeURIComponent(TOKEN)}`;
    const error = scmError("GitHub", "setting status", Object.assign(new Error(echoed), { status: 400, request: { headers: { authorization: `token ${TOKEN}` } } }), [TOKEN]);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain(Buffer.from(TOKEN).toString("base64").slice(4, 24));
    expect(error.message).toContain("***");
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(TOKEN);
  });
});
