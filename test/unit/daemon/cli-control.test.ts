/**
 * `bosun approve`, `pause` and `resume` against a real HTTP server of the daemon (with the fixture
 * control): the request the daemon receives, the exit codes (0, 1 with the daemon's error, 2 for usage),
 * and the token kept out of every message.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { approveCommand, pauseCommand, resumeCommand } from "../../../src/cli/control.js";
import { commandContext } from "../../../src/cli/context.js";
import { exitCodeFor } from "../../../src/cli/exit.js";
import { startHttpServer, type HttpServer } from "../../../src/daemon/http.js";
import { ApiTokens } from "../../../src/daemon/tokens.js";
import { FixtureControl, TARGET } from "../../support/daemon-fixture.js";

const TOKEN = "cli-token-0123456789abcdef";
const control = new FixtureControl();
let server: HttpServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bosun-cli-control-"));
  server = await startHttpServer({ listen: "127.0.0.1:0", control, metrics: () => Promise.resolve({ contentType: "text/plain", body: "" }), tokens: ApiTokens.of([["laptop", TOKEN]]), hooks: {}, followedRef: "main", log: () => undefined });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
});
beforeEach(() => {
  control.calls.length = 0;
  vi.stubEnv("BOSUN_API_TOKEN", TOKEN);
});

type Build = typeof approveCommand;

/** Runs a command as the program would: its exit code, what it printed and the error message. */
async function run(build: Build, args: string[]): Promise<{ code: number; out: string; error: string }> {
  let code = 0;
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const command = build(commandContext((c) => (code = c)));
  command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let error = "";
  try {
    await command.parseAsync(args, { from: "user" });
  } catch (e) {
    code = exitCodeFor(e);
    error = e instanceof Error ? e.message : String(e);
  } finally {
    write.mockRestore();
  }
  return { code, out, error };
}

describe("bosun approve", () => {
  it("approves through the API with the token's name and --by (exit 0)", async () => {
    const r = await run(approveCommand, ["--server", server.url, "--wave", "production", "--revision", TARGET.slice(0, 7), "--by", "alice"]);
    expect(r).toMatchObject({ code: 0, error: "" });
    expect(r.out).toBe(`approved ${TARGET.slice(0, 7)} for wave production (by laptop: alice)\n`);
    expect(control.calls).toEqual([{ kind: "approve", wave: "production", revision: TARGET.slice(0, 7), actor: { token: "laptop", by: "alice" } }]);
  });

  it("exits 1 with the daemon's error", async () => {
    const r = await run(approveCommand, ["--server", server.url, "--wave", "canary", "--revision", TARGET]);
    expect(r.code).toBe(1);
    expect(r.error).toContain("409: wave canary is not manual: nothing to approve");
  });

  it("exits 1 for a refused token, without printing it", async () => {
    vi.stubEnv("BOSUN_API_TOKEN", "wrong-token-wrong-token-00");
    const r = await run(approveCommand, ["--server", server.url, "--wave", "production", "--revision", TARGET]);
    expect(r.code).toBe(1);
    expect(r.error).toContain("401");
    expect(r.error).not.toContain("wrong-token");
    expect(control.calls).toEqual([]);
  });

  it("exits 1 when the daemon cannot be reached", async () => {
    const r = await run(approveCommand, ["--server", "http://127.0.0.1:1", "--wave", "production", "--revision", TARGET]);
    expect(r.code).toBe(1);
    expect(r.error).toContain("cannot reach the daemon");
  });

  it.each([
    [["--wave", "production", "--revision", TARGET], /--server is required/],
    [["--server", "not a url", "--wave", "production", "--revision", TARGET], /is not a URL/],
    [["--server", "ftp://127.0.0.1", "--wave", "production", "--revision", TARGET], /http/],
    [["--server", `http://u:${TOKEN}@127.0.0.1`, "--wave", "production", "--revision", TARGET], /must not carry credentials/],
    [["--server", "http://127.0.0.1", "--revision", TARGET], /--wave is required/],
    [["--server", "http://127.0.0.1", "--wave", "production"], /--revision is required/],
    [["--server", "http://127.0.0.1", "--wave", "production", "--revision", "main"], /commit id/],
  ])("exits 2 for %j", async (args, message) => {
    const r = await run(approveCommand, args);
    expect(r.code).toBe(2);
    expect(r.error).toMatch(message);
    expect(r.error).not.toContain(TOKEN);
    expect(control.calls).toEqual([]);
  });

  it("exits 2 without a token", async () => {
    vi.stubEnv("BOSUN_API_TOKEN", "");
    const r = await run(approveCommand, ["--server", server.url, "--wave", "production", "--revision", TARGET]);
    expect(r.code).toBe(2);
    expect(r.error).toMatch(/BOSUN_API_TOKEN/);
  });

  it("reads the token from --token-file", async () => {
    vi.stubEnv("BOSUN_API_TOKEN", "");
    const file = path.join(dir, "token");
    await writeFile(file, `# the laptop's token\n${TOKEN}\n`);
    const r = await run(approveCommand, ["--server", server.url, "--token-file", file, "--wave", "production", "--revision", TARGET]);
    expect(r.code).toBe(0);
    expect(control.calls).toHaveLength(1);
  });
});

describe("bosun pause and resume", () => {
  it("pauses a cluster with a reason and resumes it", async () => {
    const paused = await run(pauseCommand, ["--server", `${server.url}/`, "--cluster", "prod-eu-1", "--reason", "incident 7", "--by", "bob"]);
    expect(paused).toMatchObject({ code: 0, out: "paused cluster prod-eu-1\n" });
    const resumed = await run(resumeCommand, ["--server", server.url, "--cluster", "prod-eu-1", "--by", "bob"]);
    expect(resumed).toMatchObject({ code: 0, out: "resumed cluster prod-eu-1\n" });
    expect(control.calls).toEqual([
      { kind: "pause", scope: "cluster", name: "prod-eu-1", actor: { token: "laptop", by: "bob" }, reason: "incident 7" },
      { kind: "resume", scope: "cluster", name: "prod-eu-1", actor: { token: "laptop", by: "bob" } },
    ]);
  });

  it("pauses a wave; an unknown one exits 1", async () => {
    expect((await run(pauseCommand, ["--server", server.url, "--wave", "production"])).code).toBe(0);
    const unknown = await run(resumeCommand, ["--server", server.url, "--wave", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.error).toContain("404: no wave nope");
  });

  it.each([
    [pauseCommand, ["--server", "http://127.0.0.1"]],
    [pauseCommand, ["--server", "http://127.0.0.1", "--cluster", "a", "--wave", "b"]],
    [resumeCommand, ["--server", "http://127.0.0.1"]],
  ])("exits 2 without exactly one of --cluster and --wave", async (build, args) => {
    const r = await run(build, args);
    expect(r.code).toBe(2);
    expect(r.error).toMatch(/exactly one of --cluster or --wave/);
  });
});
