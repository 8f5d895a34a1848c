/**
 * `git http-backend`, Git's own smart-HTTP server, as a CGI program: one process per request, the request
 * body on stdin, a CGI response (headers, blank line, body) on stdout. The sandbox's Git server (demo and
 * tests) is its only user. Argument array, a minimal environment (nothing of bosun's, no credentials) and
 * a deadline after which the process is killed.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";

/** One CGI request. */
export interface GitCgiRequest {
  /** Directory holding the bare repositories served. */
  projectRoot: string;
  method: string;
  /** The URL path, decoded (`/fleet.git/info/refs`). */
  pathInfo: string;
  /** The query string without `?`. */
  query: string;
  contentType: string;
  contentLength: string;
  contentEncoding: string;
  gitProtocol: string;
  /** Killed after this long (a stuck client never holds a process forever). */
  timeoutMs: number;
}

/** Starts `git http-backend` for one request; the caller pipes the body in and parses the CGI response. */
export function startGitHttpBackend(request: GitCgiRequest): ChildProcessByStdio<Writable, Readable, null> {
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: request.projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REQUEST_METHOD: request.method,
      PATH_INFO: request.pathInfo,
      QUERY_STRING: request.query,
      CONTENT_TYPE: request.contentType,
      CONTENT_LENGTH: request.contentLength,
      HTTP_CONTENT_ENCODING: request.contentEncoding,
      GIT_PROTOCOL: request.gitProtocol,
      REMOTE_ADDR: "127.0.0.1",
      REMOTE_USER: "sandbox",
    },
    stdio: ["pipe", "pipe", "inherit"],
    shell: false,
    timeout: request.timeoutMs,
    killSignal: "SIGKILL",
  });
  return child;
}
