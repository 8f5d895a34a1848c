/**
 * A Git smart-HTTP server on 127.0.0.1 for the demo and the tests: a Node HTTP server in front of the real
 * `git http-backend` (src/tools/git-http-backend.ts), serving the bare repositories of one directory,
 * optionally behind basic auth. The demo serves fleet-example from it to `bosun run`; the tests serve
 * fixtures and push commits to them.
 */
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { git } from "../tools/git.js";
import { startGitHttpBackend } from "../tools/git-http-backend.js";

/** A running Git HTTP server. */
export interface GitServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Directory holding the bare repositories (`<name>.git`). */
  root: string;
  /** Every request answered so far, in order: lets a test count round trips. */
  requests: GitRequestRecord[];
  close: () => Promise<void>;
}

/** One request the server answered. */
export interface GitRequestRecord {
  method: string;
  /** URL path, e.g. `/fleet.git/info/refs` or `/fleet.git/git-upload-pack`. */
  path: string;
  /** Query string without `?`, e.g. `service=git-upload-pack`. */
  query: string;
  status: number;
}

/** Options of the server. */
export interface GitServerOptions {
  /** Directory of the bare repositories; a new temporary one (removed on close) when absent. */
  root?: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Require HTTP basic auth with these credentials. */
  auth?: { username: string; password: string };
}

/** How long one Git request may take before its process is killed. */
const REQUEST_TIMEOUT_MS = 5 * 60_000;

/** Starts the server; call `close()` when done. */
export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const owned = options.root === undefined;
  const root = options.root ?? (await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-")));
  const requests: GitRequestRecord[] = [];
  const server = http.createServer((req, res) => {
    res.on("finish", () => {
      const requested = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push({ method: req.method ?? "GET", path: requested.pathname, query: requested.search.slice(1), status: res.statusCode });
    });
    if (options.auth && !authorized(req, options.auth)) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="bosun-sandbox"' });
      res.end("unauthorized\n");
      return;
    }
    cgi(root, req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    root,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (owned) await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Author and committer of commits the sandbox makes. */
const IDENTITY = { GIT_AUTHOR_NAME: "Fleet Maintainer", GIT_AUTHOR_EMAIL: "fleet@example.com", GIT_COMMITTER_NAME: "Fleet Maintainer", GIT_COMMITTER_EMAIL: "fleet@example.com" };

/**
 * Makes `bareDir` a bare repository whose `main` has one commit of `sourceDir`'s files. `date` fixes the
 * commit's time (tests want the same commit id on every run).
 */
export async function initBareRepository(sourceDir: string, bareDir: string, options: { date?: string; message?: string } = {}): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-work-"));
  try {
    await fs.cp(sourceDir, work, { recursive: true });
    const env = { ...IDENTITY, ...(options.date ? { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date } : {}) };
    await git(["init", "-q", "-b", "main"], { cwd: work, env });
    await git(["add", "-A"], { cwd: work, env });
    await git(["commit", "-q", "-m", options.message ?? "fleet"], { cwd: work, env });
    await git(["clone", "-q", "--bare", work, bareDir], { env });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Where {@link commitTo} starts from and pushes to. */
export interface CommitRefs {
  /** The ref the change is made on (default `main`). */
  from?: string;
  /** The ref pushed (default `main`; a pull request's head: `refs/pull/7/head`). */
  to?: string;
}

/**
 * Commits a change to `main` of the bare repository `bareDir`, as a merged pull request would: clones it,
 * lets `edit` change the files, commits everything with `message` and pushes. Returns the new commit id.
 * With `refs`, the change starts from another ref and is pushed to another (a pull request's head, which a
 * code host keeps under `refs/pull/N/head`).
 */
export async function commitTo(bareDir: string, message: string, edit: (dir: string) => Promise<void>, refs: CommitRefs = {}): Promise<string> {
  const clone = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-clone-"));
  try {
    await git(["clone", "-q", bareDir, clone], { env: IDENTITY });
    if (refs.from !== undefined && refs.from !== "main") {
      await git(["fetch", "-q", "origin", `+${refs.from}:refs/bosun-from`], { cwd: clone, env: IDENTITY });
      await git(["checkout", "-q", "--detach", "refs/bosun-from"], { cwd: clone, env: IDENTITY });
    }
    await edit(clone);
    await git(["add", "-A"], { cwd: clone, env: IDENTITY });
    await git(["commit", "-q", "-m", message], { cwd: clone, env: IDENTITY });
    await git(["push", "-q", "--force", "origin", `HEAD:${refs.to ?? "main"}`], { cwd: clone, env: IDENTITY });
    return (await git(["rev-parse", "HEAD"], { cwd: clone })).trim();
  } finally {
    await fs.rm(clone, { recursive: true, force: true });
  }
}

function authorized(req: http.IncomingMessage, auth: { username: string; password: string }): boolean {
  const header = req.headers.authorization ?? "";
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  return header === expected;
}

function cgi(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const child = startGitHttpBackend({
    projectRoot: root,
    method: req.method ?? "GET",
    pathInfo: decodeURIComponent(url.pathname),
    query: url.search.slice(1),
    contentType: req.headers["content-type"] ?? "",
    contentLength: req.headers["content-length"] ?? "",
    contentEncoding: req.headers["content-encoding"] ?? "",
    gitProtocol: String(req.headers["git-protocol"] ?? ""),
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  // http-backend may exit before reading a request body (an unknown repository): ignore the broken pipe.
  child.stdin.on("error", () => undefined);
  req.pipe(child.stdin);
  let headerDone = false;
  let buffered = Buffer.alloc(0);
  child.stdout.on("data", (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf("\r\n\r\n");
    if (end < 0) return;
    headerDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of buffered.subarray(0, end).toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(buffered.subarray(end + 4));
  });
  child.on("close", () => res.end());
  child.on("error", () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}
