#!/usr/bin/env node
// `npm run demo:stop`: stops everything `npm run demo` left running — the daemon, the Git server it
// fetches from, and the sandbox.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { stopDemoProcesses } from "./demo-processes.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
await stopDemoProcesses(repo, (line) => process.stdout.write(`${line}\n`));
const down = await execa(process.execPath, [path.join(repo, "dist/cli/main.js"), "sandbox", "down"], { cwd: repo, stdio: "inherit", reject: false });
process.exitCode = down.exitCode === 0 ? 0 : 1;
