/**
 * Starts one shared sandbox (full mode, seeded from test/fixtures/sandbox) for the whole integration run
 * and always stops it: on normal teardown, and on SIGINT/SIGTERM. Binaries are built first if missing,
 * with progress printed, so a fresh machine needs nothing but `npm ci && npm test`.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureBinaries, type BinaryPaths } from "../../src/sandbox/binaries/build.js";
import { BINARIES_FOR } from "../../src/sandbox/binaries/catalog.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { sandboxUp } from "../../src/sandbox/up.js";

/** What integration tests get through `inject("sandbox")`. */
export interface SharedSandbox {
  root: string;
  name: string;
  kubeconfig: string;
  clusters: string[];
  binaries: BinaryPaths;
}

declare module "vitest" {
  export interface ProvidedContext {
    sandbox: SharedSandbox;
  }
}

const NAME = "it";

/** vitest global setup: returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const repo = path.resolve(import.meta.dirname, "../..");
  await fs.access(path.join(repo, "dist/cli/main.js")).catch(() => {
    throw new Error("dist/cli/main.js is missing: run `npm run build` before the integration tests (npm test does)");
  });
  const log = (line: string): void => {
    process.stderr.write(`[sandbox] ${line}\n`);
  };
  // kubectl too: the machines have one on PATH (accepted as it is); elsewhere it is built once.
  const binaries = await ensureBinaries(BINARIES_FOR.test, log);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-it-"));
  let stopped = false;
  const teardown = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sandboxDown(root, NAME);
    await fs.rm(root, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void teardown().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const state = await sandboxUp({
      root,
      name: NAME,
      mode: "full",
      from: path.join(repo, "test/fixtures/sandbox"),
      progress: log,
    });
    project.provide("sandbox", {
      root,
      name: NAME,
      kubeconfig: sandboxLayout(root, NAME).kubeconfig,
      clusters: state.clusters.map((c) => c.name),
      binaries,
    });
  } catch (error) {
    await teardown();
    throw error;
  }
  return async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await teardown();
  };
}
