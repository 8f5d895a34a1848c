/**
 * Headless Chromium for tests of the status page: the DOM after load (`--dump-dom`) and a screenshot
 * (`--screenshot`). Debian's `chromium` is installed on demand (see packages.ts). Each run gets its own
 * profile directory, runs in its own process group with a hard timeout, and that group is killed by its
 * id afterwards — Chromium's zygote and renderers must not outlive a test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { ensureDebianPackage } from "./packages.js";

/** How long one page load may take on a loaded 2-core machine. */
const TIMEOUT_MS = 90_000;

let chromium: Promise<string> | undefined;

/** The chromium binary, installed once per test process when missing. */
export async function chromiumPath(): Promise<string> {
  chromium ??= ensureDebianPackage("chromium", "chromium");
  return chromium;
}

async function runChromium(extra: readonly string[], url: string): Promise<string> {
  const file = await chromiumPath();
  const profile = await mkdtemp(path.join(os.tmpdir(), "bosun-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
    ...extra,
    url,
  ];
  const child = execa(file, args, {
    // Its own process group, so the whole tree can be killed by the group's id.
    detached: true,
    timeout: TIMEOUT_MS,
    killSignal: "SIGKILL",
    maxBuffer: 32 * 1024 * 1024,
    env: { HOME: profile },
    stdin: "ignore",
  });
  const pid = child.pid;
  try {
    const result = await child;
    return result.stdout;
  } finally {
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // the group is gone already
      }
    }
    await rm(profile, { recursive: true, force: true });
  }
}

/** The page's DOM as Chromium serialises it after load. */
export async function dumpDom(url: string): Promise<string> {
  return runChromium(["--dump-dom"], url);
}

/** Writes a PNG screenshot of the page at `url` to `file`. */
export async function screenshot(url: string, file: string, size: { width: number; height: number }): Promise<void> {
  await runChromium([`--screenshot=${path.resolve(file)}`, `--window-size=${size.width},${size.height}`], url);
}
