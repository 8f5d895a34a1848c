/**
 * The hostile-repository harness: a fleet written by someone who can open a pull request, run through the
 * built CLI against the shared sandbox with canary credentials in the environment. Every case asserts the
 * same four things: no child process created a marker file, no canary appears in any output, the run
 * ended by itself with a clear error (never a hang, never an internal error), and the API servers recorded
 * no write by bosun.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { auditMark, bosunRequests, isDryRun, type AuditEvent } from "../support/audit.js";
import { BOSUN_CLI, sharedSandbox } from "../support/sandbox.js";

/** Canary secrets put into the environment of every hostile run; none may ever be printed. */
export interface Canaries {
  gitToken: string;
  secretEnv: string;
  kubeToken: string;
  all: string[];
}

/** Fresh canaries for one test file. */
export function makeCanaries(): Canaries {
  const c = (what: string): string => `${what}-canary-${randomBytes(10).toString("hex")}`;
  const gitToken = c("git");
  const secretEnv = c("secretenv");
  const kubeToken = c("kubetoken");
  return { gitToken, secretEnv, kubeToken, all: [gitToken, secretEnv, kubeToken] };
}

/** A hostile fleet on disk and the marker directory its payloads would write into. */
export interface HostileRepo {
  dir: string;
  /** Payloads write here (`touch $MARKER/...`); the directory must stay empty. */
  markerDir: string;
  /** Writes (or overwrites) a file of the repository, creating its folders. */
  write: (file: string, text: string) => Promise<void>;
  /** Creates a symlink inside the repository pointing at `target`. */
  symlink: (file: string, target: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

/** A minimal valid fleet.yaml; `extra` is appended under `spec:`. */
export function fleetYaml(extra = ""): string {
  return `apiVersion: bosun.dev/v1alpha1
kind: Fleet
metadata: { name: hostile }
spec:
  defaults:
    provider: { kubeadm: { packageManager: apt } }
  rollout:
    waves:
      - { name: all, selector: { matchLabels: { hostile: "true" } } }
${extra}`;
}

/** A Cluster file for sandbox cluster `context` (default gamma, which no test upgrades); `spec` lines are appended. */
export function clusterYaml(name: string, spec = "", context = "gamma"): string {
  return `apiVersion: bosun.dev/v1alpha1
kind: Cluster
metadata:
  name: ${name}
  labels: { hostile: "true" }
spec:
  connection: { context: ${context} }
  kubernetes: { version: "1.35.4" }
  topology:
    controlPlane: { replicas: 1 }
${spec}`;
}

/** Creates a hostile repository with a valid fleet.yaml and the given files. */
export async function hostileRepo(files: Record<string, string> = {}): Promise<HostileRepo> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-hostile-"));
  const dir = path.join(base, "repo");
  const markerDir = path.join(base, "markers");
  await fs.mkdir(dir, { recursive: true });
  await fs.mkdir(markerDir, { recursive: true });
  const write = async (file: string, text: string): Promise<void> => {
    const full = path.join(dir, file);
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, text.replaceAll("$MARKER", markerDir));
  };
  const symlink = async (file: string, target: string): Promise<void> => {
    const full = path.join(dir, file);
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.symlink(target, full);
  };
  await write("fleet.yaml", fleetYaml());
  for (const [file, text] of Object.entries(files)) await write(file, text);
  return { dir, markerDir, write, symlink, cleanup: () => fs.rm(base, { recursive: true, force: true }) };
}

/** How a hostile run ended. */
export interface HostileResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the harness had to kill the run: a hang, which is always a failure. */
  timedOut: boolean;
  /** bosun's writes the sandbox's API servers recorded during the run (server-side dry-runs are not writes). */
  writes: AuditEvent[];
  /** bosun's server-side dry-runs (`?dryRun=All`) during the run: how a plan computes its diffs. */
  dryRuns: AuditEvent[];
}

/** Generous bound on one hostile run; a run that needs it has hung. */
export const HOSTILE_RUN_LIMIT_MS = 120_000;

/**
 * Runs the built CLI with the sandbox's kubeconfig and the canaries in the environment (as a CI job or
 * the daemon would have them), and records bosun's writes to every sandbox cluster meanwhile.
 */
export async function runHostile(
  args: readonly string[],
  canaries: Canaries,
  options: { cwd?: string; env?: Record<string, string | undefined>; clusters?: readonly string[] } = {},
): Promise<HostileResult> {
  const clusters = options.clusters ?? sharedSandbox().clusters;
  const marks = await Promise.all(clusters.map((c) => auditMark(c)));
  const result = await execa(process.execPath, [BOSUN_CLI, ...args], {
    cwd: options.cwd,
    env: {
      KUBECONFIG: sharedSandbox().kubeconfig,
      BOSUN_GIT_TOKEN: canaries.gitToken,
      BOSUN_SECRET_CANARY: canaries.secretEnv,
      AWS_SECRET_ACCESS_KEY: canaries.kubeToken,
      NO_COLOR: "1",
      ...options.env,
    },
    reject: false,
    timeout: HOSTILE_RUN_LIMIT_MS,
    stdin: "ignore",
  });
  const requests = bosunRequests((await Promise.all(marks.map((m) => m()))).flat());
  const writes = requests.filter((e) => !isDryRun(e));
  const dryRuns = requests.filter(isDryRun);
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut, writes, dryRuns };
}

/** What a hostile run must show besides the common assertions. */
export interface SafeExpectation {
  /** Allowed exit codes (default [1]: refused). */
  exitCodes?: readonly number[];
  /** Text the output must contain: the clear error naming the file, flag or field. */
  mentions?: readonly (string | RegExp)[];
}

/** The four assertions every hostile case makes, plus its own. */
export async function expectSafe(repo: HostileRepo, canaries: Canaries, result: HostileResult, expectation: SafeExpectation = {}): Promise<void> {
  const output = `${result.stdout}\n${result.stderr}`;
  expect(result.timedOut, `run hung:\n${output}`).toBe(false);
  expect(await fs.readdir(repo.markerDir), "a child process ran a payload").toEqual([]);
  for (const canary of canaries.all) {
    expect(output.includes(canary), `canary printed:\n${output}`).toBe(false);
    for (const variant of encodings(canary)) expect(output.includes(variant), `encoded canary printed:\n${output}`).toBe(false);
  }
  expect(output, "an internal error or stack trace").not.toMatch(/internal error|bug in bosun|\n\s+at .+\(.*:\d+:\d+\)/i);
  expect(result.writes.map((w) => `${w.verb} ${w.requestURI}`), "bosun wrote to a cluster").toEqual([]);
  expect(expectation.exitCodes ?? [1], output).toContain(result.exitCode);
  for (const m of expectation.mentions ?? []) expect(output).toMatch(typeof m === "string" ? new RegExp(escapeRegExp(m)) : m);
}

/** The encodings a chart or error path could turn a secret into. */
export function encodings(secret: string): string[] {
  const b64 = Buffer.from(secret).toString("base64");
  // URL-encoding leaves the canaries' letters, digits and dashes as they are, so it adds no variant here.
  return [b64, Buffer.from(b64).toString("base64"), Buffer.from(secret).toString("hex")];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
