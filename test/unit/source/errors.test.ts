/**
 * How failures of a Git conversation become messages: decided on codes and HTTP status, saying what to
 * fix, never carrying the credentials — even when a lower layer's message or a response body does.
 */
import util from "node:util";
import { Errors } from "isomorphic-git";
import { describe, expect, it } from "vitest";
import type { AuthOutcome } from "../../../src/source/credentials.js";
import { GitSourceError, GitTimeoutError, GitTransportFailure, TransferLimitError, gitFailure, isTransportFailure } from "../../../src/source/errors.js";

const SECRET = "canary-unit-5d1e";
const BASIC = Buffer.from(`x-access-token:${SECRET}`).toString("base64");
const ACTION = "fetching https://git.example.com/fleet.git ref main";

const none: AuthOutcome = { source: undefined, offered: false, refusedInsecure: false };
const offered: AuthOutcome = { source: "BOSUN_GIT_TOKEN", offered: true, refusedInsecure: false };
const insecure: AuthOutcome = { source: "BOSUN_GIT_TOKEN", offered: false, refusedInsecure: true };

function nodeError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443 (token ${SECRET})`), { code });
}

describe("gitFailure", () => {
  it.each<[string, unknown, AuthOutcome, RegExp, boolean]>([
    ["401 without credentials", new Errors.HttpError(401, "Unauthorized", `echo: Basic ${BASIC}`), none, /authentication required \(HTTP 401\): set BOSUN_GIT_TOKEN, or BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD$/, false],
    ["401 with a rejected token", new Errors.HttpError(401, "Unauthorized", SECRET), offered, /authentication failed \(HTTP 401\): the server rejected the credentials from BOSUN_GIT_TOKEN/, false],
    ["Azure DevOps' 203 sign-in page", new Errors.HttpError(203, "Non-Authoritative Information", ""), none, /authentication required \(HTTP 203\)/, false],
    ["403", new Errors.HttpError(403, "Forbidden", ""), offered, /access denied \(HTTP 403\): the credentials from BOSUN_GIT_TOKEN lack read access/, false],
    ["404 without credentials", new Errors.HttpError(404, "Not Found", ""), none, /repository not found \(HTTP 404\): check the URL; if the repository is private, set BOSUN_GIT_TOKEN/, false],
    ["503", new Errors.HttpError(503, "Service Unavailable", ""), none, /the server failed \(HTTP 503\); try again later/, true],
    ["429", new Errors.HttpError(429, "Too Many Requests", ""), none, /HTTP 429/, true],
    ["credentials refused over plain http", new Errors.UserCanceledError(), insecure, /asks for credentials over plain http; bosun sends BOSUN_GIT_TOKEN only over https:\/\//, false],
    ["not a smart-HTTP server", new Errors.SmartHttpError("<html>", "<html>"), none, /not answer as a Git smart-HTTP server/, false],
    ["connection refused", nodeError("ECONNREFUSED"), none, /cannot reach git\.example\.com \(ECONNREFUSED\)$/, true],
    ["DNS failure", nodeError("ENOTFOUND"), none, /cannot reach git\.example\.com \(ENOTFOUND\)$/, true],
    ["an untrusted certificate", nodeError("SELF_SIGNED_CERT_IN_CHAIN"), none, /TLS verification of git\.example\.com failed \(SELF_SIGNED_CERT_IN_CHAIN\); set NODE_EXTRA_CA_CERTS/, false],
    ["an expired certificate", nodeError("CERT_HAS_EXPIRED"), none, /TLS verification .* \(CERT_HAS_EXPIRED\)/, false],
    ["the deadline", new GitTimeoutError(90_000), none, /timed out \(no answer within 90 s\)$/, true],
    ["the transfer cap", new TransferLimitError(512 * 2 ** 20), none, /sent more than 512 MiB; refusing to fetch more$/, false],
    ["anything else", Object.assign(new Error(`odd failure with ${SECRET} and ${BASIC}`), { code: "Weird" }), offered, /Weird: odd failure with \*\*\* and \*\*\*$/, false],
  ])("%s", (_what, error, auth, message, retryable) => {
    const failure = gitFailure(error, { action: ACTION, host: "git.example.com", auth, secrets: [SECRET, BASIC] });
    expect(failure).toBeInstanceOf(GitSourceError);
    expect(failure.reason).toBe("GitFailed");
    expect(failure.retryable).toBe(retryable);
    expect(failure.message.startsWith(`${ACTION}: `)).toBe(true);
    expect(failure.message).toMatch(message);
    expect(failure.cause).toBeInstanceOf(GitTransportFailure);
    const everything = util.inspect(failure, { depth: 10, showHidden: true });
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(BASIC);
  });

  it("keeps the code and status of the lower layer in the cause, and nothing the server chose", () => {
    const failure = gitFailure(new Errors.HttpError(401, `Denied x-access-token:${SECRET}`, `body ${BASIC}`), { action: ACTION, host: "h", auth: none, secrets: [] });
    expect(failure.cause).toMatchObject({ code: "HttpError", statusCode: 401, message: "HTTP 401" });
    const everything = util.inspect(failure, { depth: 10, showHidden: true });
    expect(everything).not.toContain("Denied");
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(BASIC);
  });
});

describe("isTransportFailure", () => {
  it.each<[string, unknown, boolean]>([
    ["an HTTP status", new Errors.HttpError(500, "x", ""), true],
    ["a refused connection", nodeError("ECONNRESET"), true],
    ["the deadline", new GitTimeoutError(1), true],
    ["a server declining a want", new Errors.NotFoundError("x"), false],
    ["a plain error", new Error("x"), false],
  ])("%s: %s", (_what, error, expected) => {
    expect(isTransportFailure(error)).toBe(expected);
  });
});
