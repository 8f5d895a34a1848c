/**
 * The sandbox's Git smart-HTTP server (src/sandbox/git-server.ts, the real `git http-backend`) for tests,
 * with `serveFixture`: a fixture directory as a served repository with one commit, at a fixed date so its
 * commit id is the same on every run.
 */
import path from "node:path";
import { commitTo, initBareRepository, type CommitRefs, startGitServer as startSandboxGitServer, type GitServer as SandboxGitServer, type GitServerOptions } from "../../src/sandbox/git-server.js";

export type { GitRequestRecord } from "../../src/sandbox/git-server.js";

/** A running Git HTTP server with the tests' helpers. */
export interface GitServer extends SandboxGitServer {
  /** Turns a directory into a bare repository `<name>.git` with one commit and returns its clone URL. */
  serveFixture: (fixtureDir: string, name: string) => Promise<string>;
  /** Pushes a commit to `<name>.git` after `edit` changed a clone of it; returns the commit id. */
  push: (name: string, message: string, edit: (dir: string) => Promise<void>, refs?: CommitRefs) => Promise<string>;
}

const FIXED_DATE = "2026-01-01T00:00:00Z";

/** Starts the server on a free port; call `close()` in an afterAll. */
export async function startGitServer(options: Pick<GitServerOptions, "auth"> = {}): Promise<GitServer> {
  const server = await startSandboxGitServer(options);
  return {
    ...server,
    serveFixture: async (fixtureDir, name) => {
      await initBareRepository(fixtureDir, path.join(server.root, `${name}.git`), { date: FIXED_DATE, message: "fleet fixture" });
      return `${server.url}/${name}.git`;
    },
    push: async (name, message, edit, refs) => commitTo(path.join(server.root, `${name}.git`), message, edit, refs),
  };
}
