/**
 * Credentials come only from the environment, are handed out only when a server asks over a safe
 * transport, and are not visible when the objects holding them are inspected.
 */
import util from "node:util";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { authSession, credentialsFromEnv, isLoopback, scrub, secretForms } from "../../../src/source/credentials.js";

describe("credentialsFromEnv", () => {
  it.each<[string, NodeJS.ProcessEnv, { username: string; password: string; source: string } | undefined]>([
    ["nothing set", {}, undefined],
    ["empty values count as unset", { BOSUN_GIT_TOKEN: "", BOSUN_GIT_USERNAME: "", BOSUN_GIT_PASSWORD: "" }, undefined],
    ["a token", { BOSUN_GIT_TOKEN: "ghp_abc" }, { username: "x-access-token", password: "ghp_abc", source: "BOSUN_GIT_TOKEN" }],
    [
      "username and password",
      { BOSUN_GIT_USERNAME: "fleet-bot", BOSUN_GIT_PASSWORD: "pw" },
      { username: "fleet-bot", password: "pw", source: "BOSUN_GIT_USERNAME/BOSUN_GIT_PASSWORD" },
    ],
    ["unrelated variables", { GIT_PASSWORD: "x", GITHUB_TOKEN: "y" }, undefined],
  ])("%s", (_what, env, expected) => {
    const credentials = credentialsFromEnv(env);
    if (expected === undefined) {
      expect(credentials).toBeUndefined();
      return;
    }
    expect(credentials?.source).toBe(expected.source);
    expect(credentials?.reveal()).toEqual({ username: expected.username, password: expected.password });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ["a token and a username", { BOSUN_GIT_TOKEN: "tok-ABC", BOSUN_GIT_USERNAME: "user-XYZ", BOSUN_GIT_PASSWORD: "pass-QRS" }, /either BOSUN_GIT_TOKEN or/],
    ["a username without a password", { BOSUN_GIT_USERNAME: "user-XYZ" }, /BOSUN_GIT_USERNAME is set but BOSUN_GIT_PASSWORD is not/],
    ["a password without a username", { BOSUN_GIT_PASSWORD: "hunter2" }, /BOSUN_GIT_PASSWORD is set but BOSUN_GIT_USERNAME is not/],
  ])("refuses %s, without echoing values", (_what, env, message) => {
    let caught: unknown;
    try {
      credentialsFromEnv(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as Error).message).toMatch(message);
    for (const value of Object.values(env)) expect((caught as Error).message).not.toContain(value);
  });

  it("keeps the secret out of inspection", () => {
    const credentials = credentialsFromEnv({ BOSUN_GIT_TOKEN: "canary-inspect-7f3a" });
    const session = authSession(credentials);
    expect(util.inspect(credentials, { depth: 10, showHidden: true })).not.toContain("canary-inspect-7f3a");
    expect(util.inspect(session, { depth: 10, showHidden: true })).not.toContain("canary-inspect-7f3a");
    expect(JSON.stringify(credentials)).not.toContain("canary-inspect-7f3a");
  });
});

describe("authSession", () => {
  const credentials = credentialsFromEnv({ BOSUN_GIT_TOKEN: "tok" });

  it.each([
    ["https://github.com/acme/fleet.git", true],
    ["http://127.0.0.1:8080/fleet.git", true],
    ["http://127.1.2.3/fleet.git", true],
    ["http://localhost:3000/fleet.git", true],
    ["http://[::1]:3000/fleet.git", true],
    ["http://git.internal/fleet.git", false],
    ["http://10.0.0.1/fleet.git", false],
    ["http://127.0.0.1.nip.io/fleet.git", false],
  ])("answers a 401 from %s: %s", async (url, sends) => {
    const session = authSession(credentials);
    const answer = await session.onAuth(url, {});
    if (sends) {
      expect(answer).toEqual({ username: "x-access-token", password: "tok" });
      expect(session.outcome).toMatchObject({ offered: true, refusedInsecure: false });
    } else {
      expect(answer).toEqual({ cancel: true });
      expect(session.outcome).toMatchObject({ offered: false, refusedInsecure: true });
    }
  });

  it("answers nothing without credentials, and never retries a rejected answer", async () => {
    const session = authSession(undefined);
    expect(await session.onAuth("https://h/x", {})).toBeUndefined();
    expect(await authSession(credentials).onAuthFailure("https://h/x", {})).toBeUndefined();
    expect(session.outcome).toEqual({ source: undefined, offered: false, refusedInsecure: false });
  });
});

describe("secret scrubbing", () => {
  it("covers the secret, its basic-auth header value and its URL encoding", () => {
    const credentials = credentialsFromEnv({ BOSUN_GIT_USERNAME: "bot", BOSUN_GIT_PASSWORD: "p@ss word" });
    const forms = secretForms(credentials);
    const header = Buffer.from("bot:p@ss word").toString("base64");
    const text = `Authorization: Basic ${header}; url https://bot:p%40ss%20word@h; raw p@ss word`;
    const scrubbed = scrub(text, forms);
    expect(scrubbed).not.toContain("p@ss word");
    expect(scrubbed).not.toContain(header);
    expect(scrubbed).not.toContain("p%40ss%20word");
  });

  it.each([["localhost"], ["127.0.0.1"], ["[::1]"]])("treats %s as loopback", (host) => {
    expect(isLoopback(host)).toBe(true);
  });
});
