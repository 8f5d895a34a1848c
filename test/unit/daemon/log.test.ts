/**
 * The daemon's logger, with its output captured in a stream: JSON lines carry the scope fields and level
 * names, credentials are redacted at any depth in both formats, and text mode prints one readable,
 * escaped line per entry.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, defaultLogFormat, escapeControlCharacters, isSensitiveField, scopedLogger, type LogFormat } from "../../../src/daemon/log.js";
import { InvalidInputError } from "../../../src/errors.js";

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join("").split("\n").filter((l) => l !== "") };
}

function logged(format: LogFormat, level?: string): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const { stream, lines } = capture();
  return { logger: createLogger({ format, destination: stream, ...(level === undefined ? {} : { level }) }), lines };
}

describe("JSON format", () => {
  it("writes one JSON object per line with the level name, time, message and scope fields", () => {
    const { logger, lines } = logged("json");
    scopedLogger(logger, { cluster: "prod-eu-1", wave: 2, step: "prod-eu-1/backup.schedule", revision: "3f2a9c" }).info({ seconds: 1.5 }, "step succeeded");
    const out = lines();
    expect(out).toHaveLength(1);
    const entry = JSON.parse(out[0] ?? "") as Record<string, unknown>;
    expect(entry).toMatchObject({ level: "info", msg: "step succeeded", cluster: "prod-eu-1", wave: 2, step: "prod-eu-1/backup.schedule", revision: "3f2a9c", seconds: 1.5 });
    expect(new Date(String(entry.time)).toISOString()).toBe(entry.time);
    // No pid/hostname noise: the pod name is the replica id, logged where it matters.
    expect(entry).not.toHaveProperty("pid");
  });

  it("drops entries below the level and refuses an unknown level", () => {
    const { logger, lines } = logged("json", "warn");
    logger.info("quiet");
    logger.warn("loud");
    expect(lines().map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["loud"]);
    expect(() => createLogger({ format: "json", level: "verbose" })).toThrow(InvalidInputError);
  });

  it("redacts token, password, secret and authorization fields at any depth, in bindings too", () => {
    const { logger, lines } = logged("json");
    const child = logger.child({ gitToken: "ghp_child_binding_value" });
    child.info({ token: "t0ken-value", request: { headers: { Authorization: "Bearer abc.def", accept: "json" } }, list: [{ password: "hunter2" }], webhookSecret: "whsec", secretName: "kept" }, "sent");
    const line = lines()[0] ?? "";
    for (const value of ["t0ken-value", "abc.def", "hunter2", "whsec", "ghp_child_binding_value"]) expect(line).not.toContain(value);
    const entry = JSON.parse(line) as { token: string; request: { headers: Record<string, string> }; list: { password: string }[]; gitToken: string; secretName: string };
    expect(entry.token).toBe("[redacted]");
    expect(entry.request.headers).toEqual({ Authorization: "[redacted]", accept: "json" });
    expect(entry.list[0]?.password).toBe("[redacted]");
    expect(entry.gitToken).toBe("[redacted]");
    // Only names that are, or end with, a sensitive word: a Secret's name is not a secret.
    expect(entry.secretName).toBe("kept");
  });

  it("serializes errors with their message", () => {
    const { logger, lines } = logged("json");
    logger.error({ err: new Error("the cluster went away") }, "iteration failed");
    const entry = JSON.parse(lines()[0] ?? "") as { err: { message: string; type: string } };
    expect(entry.err).toMatchObject({ message: "the cluster went away", type: "Error" });
  });
});

describe("text format", () => {
  it("writes one readable line per entry: time, level, message and fields", () => {
    const { logger, lines } = logged("text");
    scopedLogger(logger, { cluster: "prod-eu-1", step: "prod-eu-1/addon.install/web" }).warn("step failed");
    const out = lines();
    expect(out).toHaveLength(1);
    const line = out[0] ?? "";
    expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: step failed/);
    expect(line).toContain('"cluster":"prod-eu-1"');
    expect(() => JSON.parse(line) as unknown).toThrow();
  });

  it("escapes every control character, so a hostile message stays on one line and cannot drive the terminal", () => {
    const { logger, lines } = logged("text");
    logger.info("line one\nFAKE: forged line\u001b[31m red\u0007");
    const out = lines();
    expect(out).toHaveLength(1);
    expect(out[0]).toContain("line one\\nFAKE: forged line\\u001b[31m red\\u0007");
    // eslint-disable-next-line no-control-regex -- asserting none are left
    expect(out[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it("redacts as the JSON format does", () => {
    const { logger, lines } = logged("text");
    logger.info({ password: "hunter2", nested: { authorization: "Basic eDp5" } }, "login");
    expect(lines()[0]).not.toMatch(/hunter2|eDp5/);
    expect(lines()[0]).toContain("[redacted]");
  });
});

describe("helpers", () => {
  it("defaults to text on a terminal and JSON otherwise", () => {
    expect(defaultLogFormat({ isTTY: true })).toBe("text");
    expect(defaultLogFormat({ isTTY: false })).toBe("json");
    expect(defaultLogFormat({})).toBe("json");
  });

  it.each([
    ["token", true],
    ["apiToken", true],
    ["Authorization", true],
    ["webhookSecret", true],
    ["password", true],
    ["secretName", false],
    ["tokenFile", false],
    ["cluster", false],
  ])("isSensitiveField(%s) = %s", (name, expected) => {
    expect(isSensitiveField(name)).toBe(expected);
  });

  it("escapes C0, DEL and C1 characters and leaves other text alone", () => {
    expect(escapeControlCharacters("a\tb\r\n\u007f\u0085é")).toBe("a\\tb\\r\\n\\u007f\\u0085é");
  });
});
