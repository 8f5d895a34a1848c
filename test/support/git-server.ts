/**
 * A Git smart-HTTP server on 127.0.0.1 for tests: a Node HTTP server in front of the real
 * `git http-backend` (CGI), serving bare repositories from a temp directory, optionally behind basic auth.
 * `serveFixture` turns a fixture directory into a served repository with one commit.
 */
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

/** A running Git HTTP server. */
export interface GitServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Directory holding the bare repositories. */
  root: string;
  /** Turns a directory into a bare repository `<name>.git` with one commit and returns its clone URL. */
  serveFixture: (fixtureDir: string, name: string) => Promise<string>;
  close: () => Promise<void>;
  /** Every request answered so far, in order: lets a test count round trips (e.g. that nothing was fetched). */
  requests: GitRequestRecord[];
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

/** Options for the test Git server. */
export interface GitServerOptions {
  /** Require HTTP basic auth with these credentials. */
  auth?: { username: string; password: string };
}

const FIXED_DATE = "2026-01-01T00:00:00Z";

/** Starts the server; call `close()` in an afterAll. */
export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-"));
  const requests: GitRequestRecord[] = [];
  const server = http.createServer((req, res) => {
    res.on("finish", () => {
      const requested = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push({ method: req.method ?? "GET", path: requested.pathname, query: requested.search.slice(1), status: res.statusCode });
    });
    if (options.auth && !authorized(req, options.auth)) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="bosun-test"' });
      res.end("unauthorized\n");
      return;
    }
    cgi(root, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    root,
    requests,
    serveFixture: async (fixtureDir, name) => {
      await initRepository(fixtureDir, path.join(root, `${name}.git`));
      return `${url}/${name}.git`;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

function authorized(req: http.IncomingMessage, auth: { username: string; password: string }): boolean {
  const header = req.headers.authorization ?? "";
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  return header === expected;
}

function cgi(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: req.headers["content-length"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      REMOTE_ADDR: "127.0.0.1",
      REMOTE_USER: "test",
    },
    stdio: ["pipe", "pipe", "inherit"],
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

async function initRepository(fixtureDir: string, bareDir: string): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-git-work-"));
  try {
    await fs.cp(fixtureDir, work, { recursive: true });
    const env = {
      GIT_AUTHOR_NAME: "Fleet Maintainer",
      GIT_AUTHOR_EMAIL: "fleet@example.com",
      GIT_COMMITTER_NAME: "Fleet Maintainer",
      GIT_COMMITTER_EMAIL: "fleet@example.com",
      GIT_AUTHOR_DATE: FIXED_DATE,
      GIT_COMMITTER_DATE: FIXED_DATE,
    };
    await execa("git", ["init", "-q", "-b", "main"], { cwd: work, env });
    await execa("git", ["add", "-A"], { cwd: work, env });
    await execa("git", ["commit", "-q", "-m", "fleet fixture"], { cwd: work, env });
    await execa("git", ["clone", "-q", "--bare", work, bareDir], { env });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
