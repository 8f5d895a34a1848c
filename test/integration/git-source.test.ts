/**
 * `openFleetSource` against real repositories served by the real `git http-backend`
 * (test/support/git-server.ts): branches, tags and commit ids; what the cache reuses (counted in the
 * requests the server saw); basic auth from the environment; failures and their messages; and a canary
 * token that must never surface in a result, an error, a log line or a cached file.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import util from "node:util";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BosunError, InvalidInputError } from "../../src/errors.js";
import { GitSourceError, openFleetSource, type OpenFleetSourceOptions, type OpenedFleetSource } from "../../src/source/index.js";
import { startGitServer, type GitServer } from "../support/git-server.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/git/fleet-min");
const DIST_SOURCE = path.resolve(import.meta.dirname, "../../dist/source/index.js");
const GIT_ENV = {
  GIT_AUTHOR_NAME: "Fleet Maintainer",
  GIT_AUTHOR_EMAIL: "fleet@example.com",
  GIT_COMMITTER_NAME: "Fleet Maintainer",
  GIT_COMMITTER_EMAIL: "fleet@example.com",
  GIT_AUTHOR_DATE: "2026-01-02T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-02T00:00:00Z",
  GIT_CONFIG_NOSYSTEM: "1",
};

async function gitIn(cwd: string, args: string[]): Promise<string> {
  return (await execa("git", args, { cwd, env: GIT_ENV })).stdout.trim();
}

/** The served bare repository behind `url`. */
function bareOf(server: GitServer, url: string): string {
  return path.join(server.root, path.basename(new URL(url).pathname));
}

/** Commits `files` on top of `branch` of the served repository (creating the branch from main); returns the commit. */
async function pushCommit(bare: string, files: Record<string, string>, message: string, branch = "main"): Promise<string> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-push-"));
  try {
    await gitIn(work, ["clone", "-q", bare, "."]);
    await gitIn(work, ["checkout", "-q", "-B", branch, `origin/${(await gitIn(bare, ["branch", "--list", branch])) ? branch : "main"}`]);
    for (const [name, text] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(work, name)), { recursive: true });
      await fs.writeFile(path.join(work, name), text);
    }
    await gitIn(work, ["add", "-A"]);
    await gitIn(work, ["commit", "-q", "-m", message]);
    await gitIn(work, ["push", "-q", "origin", `HEAD:refs/heads/${branch}`]);
    return await gitIn(work, ["rev-parse", "HEAD"]);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** Requests the server saw since `mark`: info/refs GETs and upload-pack POSTs (the actual fetches). */
function requestsSince(server: GitServer, mark: number): { gets: number; fetches: number } {
  const seen = server.requests.slice(mark);
  return {
    gets: seen.filter((r) => r.method === "GET" && r.path.endsWith("/info/refs")).length,
    fetches: seen.filter((r) => r.method === "POST" && r.path.endsWith("/git-upload-pack")).length,
  };
}

async function failure(promise: Promise<unknown>): Promise<BosunError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BosunError);
  return error as BosunError;
}

describe("Git source over smart HTTP", () => {
  let server: GitServer;
  let tmp: string;
  let cacheDir: string;
  const open = (options: Omit<OpenFleetSourceOptions, "cacheDir" | "env" | "fleet"> & { repo: string; ref: string; env?: NodeJS.ProcessEnv }): Promise<OpenedFleetSource> =>
    openFleetSource({ cacheDir, env: {}, ...options });

  beforeAll(async () => {
    server = await startGitServer();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-source-"));
  });

  afterAll(async () => {
    await server.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    cacheDir = await fs.mkdtemp(path.join(tmp, "cache-"));
  });

  it("opens a branch: a shallow fetch, the tip checked out in a directory named after the commit", async () => {
    const url = await server.serveFixture(FIXTURE, "branch");
    const tip = await gitIn(bareOf(server, url), ["rev-parse", "main"]);
    const mark = server.requests.length;
    const opened = await open({ repo: url, ref: "main" });
    expect(opened).toEqual({ dir: expect.any(String) as string, source: { kind: "git", url, ref: "main", commit: tip }, revision: tip });
    expect(path.basename(opened.dir)).toBe(tip);
    expect(opened.dir.startsWith(cacheDir + path.sep)).toBe(true);
    expect(await listFiles(opened.dir)).toEqual(await listFiles(FIXTURE));
    expect(await fs.readFile(path.join(opened.dir, "clusters/alpha.yaml"), "utf8")).toBe(await fs.readFile(path.join(FIXTURE, "clusters/alpha.yaml"), "utf8"));
    // ls-remote, then one fetch (its own discovery GET and the upload-pack POST).
    expect(requestsSince(server, mark)).toEqual({ gets: 2, fetches: 1 });
    const cacheEntry = path.dirname(path.dirname(opened.dir));
    expect((await fs.readFile(path.join(cacheEntry, "repo.git", "shallow"), "utf8")).trim()).toBe(tip);
    expect(await fs.readdir(path.join(cacheEntry, "repo.git", "refs", "tags"))).toEqual([]);
    expect((await fs.readFile(path.join(cacheEntry, "source"), "utf8")).trim()).toBe(url);
    // Nothing left over: no lock, no temporary directory.
    expect((await fs.readdir(cacheEntry)).sort()).toEqual(["repo.git", "source", "worktrees"]);
    expect(await fs.readdir(path.join(cacheEntry, "worktrees"))).toEqual([tip]);
  });

  it("reuses the cache: the same branch again only lists refs, the same commit id needs no request", async () => {
    const url = await server.serveFixture(FIXTURE, "reuse");
    const first = await open({ repo: url, ref: "main" });
    let mark = server.requests.length;
    const again = await open({ repo: url, ref: "main" });
    expect(again).toEqual(first);
    expect(requestsSince(server, mark)).toEqual({ gets: 1, fetches: 0 });
    mark = server.requests.length;
    const byCommit = await open({ repo: url, ref: first.revision ?? "" });
    expect(byCommit.dir).toBe(first.dir);
    expect(byCommit.source).toEqual({ kind: "git", url, ref: first.revision, commit: first.revision });
    expect(server.requests.length).toBe(mark);
  });

  it("picks up a new commit on the branch into a new directory, fetching only once", async () => {
    const url = await server.serveFixture(FIXTURE, "moving");
    const before = await open({ repo: url, ref: "main" });
    const next = await pushCommit(bareOf(server, url), { "clusters/beta.yaml": "apiVersion: bosun.dev/v1alpha1\nkind: Cluster\n" }, "add beta");
    const mark = server.requests.length;
    const after = await open({ repo: url, ref: "main" });
    expect(after.revision).toBe(next);
    expect(after.dir).not.toBe(before.dir);
    expect(requestsSince(server, mark)).toEqual({ gets: 2, fetches: 1 });
    expect(await listFiles(after.dir)).toContain("clusters/beta.yaml");
    // The previous commit's checkout is untouched: a plan still reading it is not disturbed.
    expect(await listFiles(before.dir)).not.toContain("clusters/beta.yaml");
  });

  it("opens annotated and lightweight tags at the commit they point to, fetching tags only for them", async () => {
    const url = await server.serveFixture(FIXTURE, "tags");
    const bare = bareOf(server, url);
    const tagged = await gitIn(bare, ["rev-parse", "main"]);
    await execa("git", ["tag", "-a", "v1.0.0", "-m", "first release", tagged], { cwd: bare, env: GIT_ENV });
    await execa("git", ["tag", "light", tagged], { cwd: bare, env: GIT_ENV });
    const tip = await pushCommit(bare, { "fleet.yaml": "changed: true\n" }, "after the tag");
    const annotated = await open({ repo: url, ref: "v1.0.0" });
    expect(annotated.revision).toBe(tagged);
    expect(annotated.source).toEqual({ kind: "git", url, ref: "v1.0.0", commit: tagged });
    const light = await open({ repo: url, ref: "refs/tags/light" });
    expect(light.dir).toBe(annotated.dir);
    const main = await open({ repo: url, ref: "main" });
    expect(main.revision).toBe(tip);
    expect(main.dir).not.toBe(annotated.dir);
    const cacheEntry = path.dirname(path.dirname(main.dir));
    expect(await fs.readdir(path.join(cacheEntry, "repo.git", "refs", "tags"))).toContain("v1.0.0");
  });

  it("opens a commit id that is no ref's tip with one shallow fetch of just that commit", async () => {
    const url = await server.serveFixture(FIXTURE, "history");
    const bare = bareOf(server, url);
    const old = await gitIn(bare, ["rev-parse", "main"]);
    await pushCommit(bare, { "fleet.yaml": "second: true\n" }, "second");
    await pushCommit(bare, { "fleet.yaml": "third: true\n" }, "third");
    const mark = server.requests.length;
    const opened = await open({ repo: url, ref: old.toUpperCase() });
    expect(opened.revision).toBe(old);
    expect(opened.source).toEqual({ kind: "git", url, ref: old.toUpperCase(), commit: old });
    expect(await fs.readFile(path.join(opened.dir, "fleet.yaml"), "utf8")).toBe(await fs.readFile(path.join(FIXTURE, "fleet.yaml"), "utf8"));
    expect(requestsSince(server, mark)).toEqual({ gets: 1, fetches: 1 });
    const cacheEntry = path.dirname(path.dirname(opened.dir));
    expect((await fs.readFile(path.join(cacheEntry, "repo.git", "shallow"), "utf8")).trim()).toBe(old);
  });

  it("opens a branch other than the default one", async () => {
    const url = await server.serveFixture(FIXTURE, "branches");
    const feature = await pushCommit(bareOf(server, url), { "clusters/gamma.yaml": "kind: Cluster\n" }, "feature", "feature/gamma");
    const opened = await open({ repo: url, ref: "feature/gamma" });
    expect(opened.revision).toBe(feature);
    expect(await listFiles(opened.dir)).toContain("clusters/gamma.yaml");
    const head = await open({ repo: url, ref: "HEAD" });
    expect(head.revision).toBe(await gitIn(bareOf(server, url), ["rev-parse", "main"]));
  });

  it.each([
    ["a branch or tag that does not exist", "nope", /^--ref "nope": ref nope not found in http:\/\/127\.0\.0\.1:\d+\/missing-ref-\d\.git \(branches: main; tags: none\)$/],
    ["an abbreviated commit id", "abcdef1", /abbreviated commit id is not enough/],
  ])("refuses %s, naming it and the repository", async (_what, ref, message) => {
    const url = await server.serveFixture(FIXTURE, `missing-ref-${ref === "nope" ? 1 : 2}`);
    const error = await failure(open({ repo: url, ref }));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(message);
  });

  it("looks for an unknown commit id in the full history before saying it is not there", async () => {
    const url = await server.serveFixture(FIXTURE, "missing-commit");
    const lines: string[] = [];
    const mark = server.requests.length;
    const error = await failure(open({ repo: url, ref: "f".repeat(40), log: (line) => lines.push(line) }));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(`--ref ${"f".repeat(40)}: commit not found in ${url} (it must be reachable from a branch or tag)`);
    // The direct want, then ls-remote and a full fetch of every branch and tag.
    expect(requestsSince(server, mark)).toEqual({ gets: 3, fetches: 2 });
    expect(lines.join("\n")).toMatch(/does not serve commit ffffffffffff directly; fetching its full history/);
    // The deepened repository is no longer shallow.
    const entries = await fs.readdir(cacheDir);
    const shallow = await fs.readFile(path.join(cacheDir, entries[0] ?? "", "repo.git", "shallow"), "utf8").catch(() => "");
    expect(shallow.trim()).toBe("");
  });

  it("refuses a short name that is both a branch and a tag", async () => {
    const url = await server.serveFixture(FIXTURE, "ambiguous");
    await execa("git", ["tag", "main", "main"], { cwd: bareOf(server, url), env: GIT_ENV });
    const error = await failure(open({ repo: url, ref: "main" }));
    expect(error.message).toMatch(/both a branch and a tag .* give refs\/heads\/main or refs\/tags\/main/);
    expect((await open({ repo: url, ref: "refs/heads/main" })).revision).toMatch(/^[0-9a-f]{40}$/);
  });

  it("reports a repository the server does not have as HTTP 404", async () => {
    const error = await failure(open({ repo: `${server.url}/absent.git`, ref: "main" }));
    expect(error).toBeInstanceOf(GitSourceError);
    expect(error.reason).toBe("GitFailed");
    expect(error.message).toMatch(new RegExp(`^fetching ${server.url}/absent\\.git ref main: repository not found \\(HTTP 404`));
  });

  it("keeps one cache directory per URL, and concurrent opens of one URL share it safely", async () => {
    const a = await server.serveFixture(FIXTURE, "concurrent-a");
    const b = await server.serveFixture(FIXTURE, "concurrent-b");
    const script = `import(${JSON.stringify(DIST_SOURCE)}).then((m) => m.openFleetSource({ repo: ${JSON.stringify(a)}, ref: "main", cacheDir: ${JSON.stringify(cacheDir)}, env: {} })).then((r) => process.stdout.write(JSON.stringify(r)))`;
    const [child, first, second, other] = await Promise.all([
      execa(process.execPath, ["--input-type=module", "-e", script]),
      open({ repo: a, ref: "main" }),
      open({ repo: a, ref: "main" }),
      open({ repo: b, ref: "main" }),
    ]);
    const fromChild = JSON.parse(child.stdout) as OpenedFleetSource;
    expect(fromChild).toEqual(first);
    expect(second).toEqual(first);
    expect(other.source).toMatchObject({ url: b });
    const entries = await fs.readdir(cacheDir);
    expect(entries).toHaveLength(2);
    for (const entry of entries) expect((await fs.readdir(path.join(cacheDir, entry))).sort()).toEqual(["repo.git", "source", "worktrees"]);
  });

  it("gives up on a server that does not answer within the timeout, as a retryable failure", async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      // The deadline fired: its own words say so (no wall-clock threshold).
      const error = await failure(open({ repo: `http://127.0.0.1:${port}/fleet.git`, ref: "main", timeoutMs: 500 }));
      expect(error).toBeInstanceOf(GitSourceError);
      expect(error.retryable).toBe(true);
      expect(error.message).toBe(`fetching http://127.0.0.1:${port}/fleet.git ref main: timed out (no answer within 0.5 s)`);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("stops a transfer larger than the cap", async () => {
    const url = await server.serveFixture(FIXTURE, "capped");
    const error = await failure(open({ repo: url, ref: "main", maxTransferBytes: 200 }));
    expect(error.message).toMatch(/ref main: the server sent more than 200 bytes; refusing to fetch more$/);
  });

  it("reports a refused connection as retryable", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(open({ repo: `http://127.0.0.1:${port}/fleet.git`, ref: "main" }));
    expect(error.message).toBe(`fetching http://127.0.0.1:${port}/fleet.git ref main: cannot reach 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(error.retryable).toBe(true);
  });
});

describe("Git source with basic auth from the environment", () => {
  const TOKEN = `tok-${randomBytes(6).toString("hex")}`;
  let tokenServer: GitServer;
  let passwordServer: GitServer;
  let tmp: string;
  let cacheDir: string;

  beforeAll(async () => {
    tokenServer = await startGitServer({ auth: { username: "x-access-token", password: TOKEN } });
    passwordServer = await startGitServer({ auth: { username: "fleet-bot", password: "pa55word" } });
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-auth-"));
  });

  afterAll(async () => {
    await tokenServer.close();
    await passwordServer.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  beforeEach(async () => {
    cacheDir = await fs.mkdtemp(path.join(tmp, "cache-"));
  });

  it("sends BOSUN_GIT_TOKEN as x-access-token, and keeps it out of the cache's .git/config", async () => {
    const url = await tokenServer.serveFixture(FIXTURE, "token");
    const opened = await openFleetSource({ repo: url, ref: "main", cacheDir, env: { BOSUN_GIT_TOKEN: TOKEN } });
    expect(await listFiles(opened.dir)).toEqual(await listFiles(FIXTURE));
    const config = await fs.readFile(path.join(path.dirname(path.dirname(opened.dir)), "repo.git", "config"), "utf8");
    expect(config).toContain(`url = ${url}`);
    expect(config).not.toContain(TOKEN);
    expect(config).not.toMatch(/x-access-token|credential|extraheader/i);
  });

  it("sends BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD", async () => {
    const url = await passwordServer.serveFixture(FIXTURE, "password");
    const opened = await openFleetSource({ repo: url, ref: "main", cacheDir, env: { BOSUN_GIT_USERNAME: "fleet-bot", BOSUN_GIT_PASSWORD: "pa55word" } });
    expect(opened.revision).toMatch(/^[0-9a-f]{40}$/);
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ["a wrong token", { BOSUN_GIT_TOKEN: "wrong-token" }, /ref main: authentication failed \(HTTP 401\): the server rejected the credentials from BOSUN_GIT_TOKEN; check them/],
    ["a wrong password", { BOSUN_GIT_USERNAME: "x-access-token", BOSUN_GIT_PASSWORD: "nope" }, /authentication failed \(HTTP 401\): the server rejected the credentials from BOSUN_GIT_USERNAME\/BOSUN_GIT_PASSWORD/],
    ["no credentials", {}, /authentication required \(HTTP 401\): set BOSUN_GIT_TOKEN, or BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD$/],
  ])("fails with GitFailed for %s", async (_what, env, message) => {
    const url = await tokenServer.serveFixture(FIXTURE, `denied-${randomBytes(4).toString("hex")}`);
    const error = await failure(openFleetSource({ repo: url, ref: "main", cacheDir, env }));
    expect(error).toBeInstanceOf(GitSourceError);
    expect(error.reason).toBe("GitFailed");
    expect(error.retryable).toBe(false);
    expect(error.message.startsWith(`fetching ${url} ref main: `)).toBe(true);
    expect(error.message).toMatch(message);
    for (const value of Object.values(env)) expect(util.inspect(error, { depth: 10 })).not.toContain(value);
  });
});

describe("canary: the token never leaves the environment", () => {
  const CANARY = `canary-${randomBytes(12).toString("hex")}`;
  const forms = [CANARY, Buffer.from(`x-access-token:${CANARY}`).toString("base64"), encodeURIComponent(CANARY)];
  let server: GitServer;
  let stranger: GitServer;
  let echo: http.Server;
  let echoUrl: string;
  let tmp: string;
  let cacheDir: string;
  const lines: string[] = [];
  const env = { BOSUN_GIT_TOKEN: CANARY };

  function expectClean(text: string, where: string): void {
    for (const form of forms) expect(text.includes(form), `${where} contains the token`).toBe(false);
  }

  async function expectCleanFailure(promise: Promise<unknown>): Promise<BosunError> {
    const error = await failure(promise);
    expectClean(util.inspect(error, { depth: 10, showHidden: true }), "the error");
    expectClean(`${error.message}\n${error.stack ?? ""}`, "the error's message and stack");
    for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
      expectClean(`${cause.message}\n${cause.stack ?? ""}\n${JSON.stringify(cause)}`, "a cause");
    }
    return error;
  }

  beforeAll(async () => {
    server = await startGitServer({ auth: { username: "x-access-token", password: CANARY } });
    stranger = await startGitServer({ auth: { username: "x-access-token", password: "someone-else" } });
    // A hostile server that echoes the credentials it receives in its 401 body and status text.
    echo = http.createServer((req, res) => {
      const sent = req.headers.authorization ?? "";
      const decoded = Buffer.from(sent.replace(/^Basic /, ""), "base64").toString("utf8");
      res.writeHead(401, `Denied ${decoded.replace(/[^\x20-\x7e]/g, "")}`, { "WWW-Authenticate": 'Basic realm="echo"', "Content-Type": "text/plain" });
      res.end(`you sent ${sent} = ${decoded}\n`);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as { port: number }).port}/fleet.git`;
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-canary-"));
    cacheDir = path.join(tmp, "cache");
  });

  afterAll(async () => {
    await server.close();
    await stranger.close();
    echo.closeAllConnections();
    await new Promise((resolve) => echo.close(resolve));
    await fs.rm(tmp, { recursive: true, force: true });
  });

  afterEach(() => {
    expectClean(lines.join("\n"), "the log");
  });

  it("is absent from a successful result", async () => {
    const url = await server.serveFixture(FIXTURE, "canary");
    const opened = await openFleetSource({ repo: url, ref: "main", cacheDir, env, log: (l) => lines.push(l) });
    expect(opened.revision).toMatch(/^[0-9a-f]{40}$/);
    expectClean(util.inspect(opened, { depth: 10, showHidden: true }), "the result");
    expectClean(JSON.stringify(opened), "the result");
    expect(lines.length).toBeGreaterThan(0);
  });

  it("is absent when the server rejects it", async () => {
    const url = await stranger.serveFixture(FIXTURE, "canary-denied");
    const error = await expectCleanFailure(openFleetSource({ repo: url, ref: "main", cacheDir, env, log: (l) => lines.push(l) }));
    expect(error.message).toMatch(/authentication failed \(HTTP 401/);
  });

  it("is absent when a hostile server echoes it back", async () => {
    const error = await expectCleanFailure(openFleetSource({ repo: echoUrl, ref: "main", cacheDir, env, log: (l) => lines.push(l) }));
    expect(error.message).toMatch(/authentication failed \(HTTP 401\): the server rejected the credentials from BOSUN_GIT_TOKEN/);
  });

  it.each([
    ["an unknown ref", "no-such-branch"],
    ["an unknown commit", "e".repeat(40)],
    ["an invalid ref", "-evil"],
  ])("is absent when opening %s fails", async (what, ref) => {
    const url = await server.serveFixture(FIXTURE, `canary-${what.replace(/\W+/g, "-")}`);
    await expectCleanFailure(openFleetSource({ repo: url, ref, cacheDir, env, log: (l) => lines.push(l) }));
  });

  it("is absent from every file under the cache directory", async () => {
    const entries = await fs.readdir(cacheDir, { recursive: true, withFileTypes: true });
    let files = 0;
    for (const entry of entries) {
      const file = path.join(entry.parentPath, entry.name);
      expectClean(file, "a cache path");
      if (!entry.isFile()) continue;
      files += 1;
      const bytes = await fs.readFile(file);
      for (const form of forms) expect(bytes.includes(Buffer.from(form)), `${file} contains the token`).toBe(false);
    }
    // The earlier tests fetched into this cache: the check looked at real repositories and checkouts.
    expect(files).toBeGreaterThan(10);
  });
});
