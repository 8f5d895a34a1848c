/** API tokens: the file format, its errors (never quoting a token), and authentication by name. */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens, bearerToken, loadApiTokens, parseTokenFile, secretEquals } from "../../../src/daemon/tokens.js";

const A = "alpha-token-0123456789";
const B = "bravo-token-9876543210";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bosun-tokens-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseTokenFile", () => {
  it("reads name-token lines, skipping comments and blank lines", () => {
    expect(parseTokenFile(`# operators\nalice ${A}\n\n  bob\t${B}  \r\n`, "tokens")).toEqual([
      ["alice", A],
      ["bob", B],
    ]);
  });

  it.each([
    [`alice ${A} extra`, /tokens:2: expected "name token"/],
    [`alice`, /tokens:2: expected "name token"/],
    [`al/ice ${A}`, /tokens:2: token name/],
    [`alice s3cr3tXY`, /tokens:2: token of alice is shorter/],
    [`alice ${A}\nalice ${B}`, /tokens:3: token name alice appears twice/],
  ])("refuses %j naming file:line and never the token", (line, message) => {
    let error: unknown;
    try {
      parseTokenFile(`# header\n${line}\n`, "tokens");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(A);
    expect((error as Error).message).not.toContain(B);
    expect((error as Error).message).not.toContain("s3cr3tXY");
  });
});

describe("ApiTokens", () => {
  const tokens = ApiTokens.of([
    ["alice", A],
    ["bob", B],
  ]);
  it.each([
    [`Bearer ${A}`, "alice"],
    [`bearer ${B}`, "bob"],
    [`Bearer ${A}x`, null],
    [`Bearer ${A.slice(0, -1)}`, null],
    [`Basic ${A}`, null],
    [A, null],
    ["Bearer ", null],
    [undefined, null],
  ])("authenticates %j as %j", (header, name) => {
    expect(tokens.authenticate(header)).toBe(name);
  });

  it("never authenticates anything without tokens", () => {
    expect(ApiTokens.of([]).authenticate(`Bearer ${A}`)).toBeNull();
  });

  it("bearerToken and secretEquals", () => {
    expect(bearerToken(`Bearer  ${A} `)).toBe(A);
    expect(secretEquals(A, A)).toBe(true);
    expect(secretEquals(A, B)).toBe(false);
    expect(secretEquals("", A)).toBe(false);
  });
});

describe("loadApiTokens", () => {
  it("combines a file and the environment's token named default", async () => {
    const file = path.join(dir, "tokens");
    await writeFile(file, `ci ${A}\n`);
    const tokens = await loadApiTokens({ file, envToken: B });
    expect(tokens.names()).toEqual(["ci", "default"]);
    expect(tokens.authenticate(`Bearer ${B}`)).toBe("default");
  });

  it("refuses a missing file, a directory, a file too large, and a short environment token", async () => {
    await expect(loadApiTokens({ file: path.join(dir, "missing") })).rejects.toThrow(/does not exist/);
    await mkdir(path.join(dir, "d"));
    await expect(loadApiTokens({ file: path.join(dir, "d") })).rejects.toThrow(/not a regular file/);
    const big = path.join(dir, "big");
    await writeFile(big, `# ${"x".repeat(70 * 1024)}\n`);
    await expect(loadApiTokens({ file: big })).rejects.toThrow(/larger than/);
    await expect(loadApiTokens({ envToken: "short" })).rejects.toThrow(/at least 16/);
  });

  it("with neither, has no tokens", async () => {
    expect((await loadApiTokens({})).size).toBe(0);
  });
});
