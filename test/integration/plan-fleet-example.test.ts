/**
 * fleet-example planned against its own sandbox (lite mode, from fleet-example/sandbox.yaml: four fleet
 * clusters and the Cluster API management cluster): golden plans in text, markdown and JSON; then one
 * cluster's kube-apiserver stopped and another one frozen (SIGSTOP: it accepts connections and never
 * answers), and the plan still covers every other cluster, reporting those two unreachable with why.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFleet } from "../../src/observe/plan-fleet.js";
import type { Plan } from "../../src/plan/types.js";
import { renderJson } from "../../src/report/json.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderText } from "../../src/report/text.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { readState, type SandboxState } from "../../src/sandbox/state.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { bosun, eventually, sharedSandbox } from "../support/sandbox.js";
import { processGone } from "../../src/tools/detached.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const FLEET = path.join(REPO, "fleet-example");
const GOLDEN = path.join(import.meta.dirname, "golden");
const NAME = "plan-example";
const NOW = new Date("2026-11-23T12:00:00Z");

let root: string;
let state: SandboxState;
let env: NodeJS.ProcessEnv;
const frozen: number[] = [];

/** The plan with what differs between machines and commits (the checkout's path and revision) fixed. */
function stable(plan: Plan): Plan {
  return { ...plan, source: { kind: "local", path: "fleet-example" }, revision: "0000000000000000000000000000000000000000" };
}

async function golden(file: string, text: string): Promise<void> {
  const target = path.join(GOLDEN, file);
  if (process.env.UPDATE_GOLDEN === "1") await fs.writeFile(target, text);
  expect(text, `${file} differs; UPDATE_GOLDEN=1 regenerates it`).toBe(await fs.readFile(target, "utf8"));
}

function pidOf(cluster: string, component: string): number {
  const pid = state.clusters.find((c) => c.name === cluster)?.processes.find((p) => p.component === component)?.pid;
  if (pid === undefined) throw new Error(`no ${component} for ${cluster}`);
  return pid;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-plan-example-"));
  await fs.mkdir(GOLDEN, { recursive: true });
  state = await sandboxUp({ root, name: NAME, mode: "lite", from: FLEET, progress: () => undefined });
  env = {
    ...process.env,
    KUBECONFIG: sandboxLayout(root, NAME).kubeconfig,
    BOSUN_HELM: sharedSandbox().binaries.helm ?? "helm",
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize ?? "kustomize",
  };
}, 240_000);

afterAll(async () => {
  for (const pid of frozen) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // already gone
    }
  }
  await sandboxDown(root, NAME);
  await fs.rm(root, { recursive: true, force: true });
}, 120_000);

describe("fleet-example against its sandbox", () => {
  it("plans every cluster, in rollout order (golden text, markdown and JSON)", async () => {
    const result = await planFleet({ source: { fleet: FLEET }, clusters: [], env, clusterTimeoutMs: 60_000, now: NOW });
    if (!result.ok) throw new Error("fleet-example is invalid");
    const plan = stable(result.plan);
    expect(plan.clusters.map((c) => [c.name, c.status])).toEqual([
      ["canary-1", "changes"],
      ["staging-eu-1", "changes"],
      ["prod-eu-1", "changes"],
      ["prod-us-1", "changes"],
    ]);
    await golden("fleet-example.plan.json", renderJson(plan));
    await golden("fleet-example.plan.txt", renderText(plan, { color: false }));
    await golden("fleet-example.plan.md", renderMarkdown(plan));
  });

  it("exits 2 with --detailed-exitcode when there are changes", async () => {
    const result = await bosun(["plan", "--fleet", FLEET, "--detailed-exitcode", "-o", "json"], { env });
    expect(result.exitCode, result.stderr).toBe(2);
  });

  it("reports a stopped and a frozen cluster unreachable, with the reason, and still plans the others", async () => {
    state = (await readState(sandboxLayout(root, NAME))) ?? state;
    const killed = pidOf("prod-eu-1", "kube-apiserver");
    process.kill(killed, "SIGKILL");
    await eventually("prod-eu-1's kube-apiserver gone", async () => ((await processGone(killed)) ? true : undefined));
    const stopped = pidOf("staging-eu-1", "kube-apiserver");
    process.kill(stopped, "SIGSTOP");
    frozen.push(stopped);
    const finished: string[] = [];
    const result = await planFleet({
      source: { fleet: FLEET },
      clusters: [],
      env,
      clusterTimeoutMs: 8_000,
      now: NOW,
      progress: (line) => {
        const match = /^ {2}(\S+): /.exec(line);
        if (match?.[1]) finished.push(match[1]);
      },
    });
    if (!result.ok) throw new Error("fleet-example is invalid");
    const byName = Object.fromEntries(result.plan.clusters.map((c) => [c.name, c]));
    expect(byName["prod-eu-1"]).toMatchObject({ status: "unreachable", steps: [] });
    // Refused, or reset when the kernel had queued the connection as the process died.
    expect(byName["prod-eu-1"]?.reason).toMatch(/ECONNREFUSED|ECONNRESET/);
    expect(byName["staging-eu-1"]).toMatchObject({ status: "unreachable", steps: [] });
    expect(byName["staging-eu-1"]?.reason).toMatch(/timed out|longer than/);
    expect(byName["canary-1"]?.status).toBe("changes");
    expect(byName["prod-us-1"]?.status).toBe("changes");
    // The healthy clusters did not wait for the frozen one: they finished before its deadline did.
    expect(finished.at(-1)).toBe("staging-eu-1");
    expect(result.plan.summary.clusters).toMatchObject({ unreachable: 2, changes: 2 });

    const cli = await bosun(["plan", "--fleet", FLEET, "--timeout", "5s"], { env });
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toMatch(/prod-eu-1\s+wave production\s+unreachable/);
  }, 120_000);
});
