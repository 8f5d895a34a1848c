#!/usr/bin/env node
// The demo's Git server: serves the bare repositories of ROOT over smart HTTP on 127.0.0.1 (a free port,
// written to PORT_FILE) until SIGTERM. Started detached by the demo; stopped by `npm run demo:stop`.
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [root, portFile] = process.argv.slice(2);
if (!root || !portFile) {
  process.stderr.write("usage: demo-git-server.mjs ROOT PORT_FILE\n");
  process.exit(2);
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { startGitServer } = await import(path.join(repo, "dist/sandbox/git-server.js"));
const server = await startGitServer({ root: path.resolve(root) });
await fs.writeFile(portFile, `${new URL(server.url).port}\n`);
process.stdout.write(`serving ${path.resolve(root)} on ${server.url}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
