/**
 * fleet-example applied end to end against its own full-mode sandbox (as `npm run demo` does): `bosun
 * apply --yes` upgrades the clusters that are behind, installs every add-on, creates every backup
 * CronJob, wave by wave; the next `bosun plan --detailed-exitcode` exits 0.
 *
 * The example's production clusters only take changes in night-time windows and its waves soak for half an
 * hour and an hour, so the run passes `--ignore-windows --skip-soak` (the windows and soak themselves are
 * covered by the unit tests of `src/plan/windows.ts` and `src/apply/waves.ts`).
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientsFor, loadKubeConfig } from "../../src/kube/config.js";
import { ETCD_BACKUP_CRONJOB } from "../../src/backup/template.js";
import { KUBERNETES_RELEASES } from "../../src/plan/kubernetes-releases.js";
import { readUpgradeRecords } from "../../src/sandbox/agent.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { bosun, sharedSandbox } from "../support/sandbox.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const FLEET = path.join(REPO, "fleet-example");
const NAME = "apply-example";
const CLUSTERS = ["canary-1", "staging-eu-1", "prod-eu-1", "prod-us-1"];

let root: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-apply-example-"));
  await sandboxUp({ root, name: NAME, mode: "full", from: FLEET, progress: () => undefined });
  env = {
    KUBECONFIG: sandboxLayout(root, NAME).kubeconfig,
    BOSUN_HELM: sharedSandbox().binaries.helm,
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
  };
}, 300_000);

afterAll(async () => {
  await sandboxDown(root, NAME);
  await fs.rm(root, { recursive: true, force: true });
}, 120_000);

describe("bosun apply on fleet-example", () => {
  it("converges every cluster — versions, add-ons, backups — and the next plan is empty", async () => {
    const applied = await bosun(["apply", "--fleet", FLEET, "--yes", "--ignore-windows", "--skip-soak"], { env });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/warning: --ignore-windows/);
    // Waves in order: canary, staging, production.
    const waves = [...applied.stdout.matchAll(/^wave (\S+): /gm)].map((m) => m[1]);
    expect(waves).toEqual(["canary", "staging", "production"]);
    for (const cluster of CLUSTERS) expect(applied.stdout).toMatch(new RegExp(`^  ${cluster}\\s+converged`, "m"));

    const kubeconfig = sandboxLayout(root, NAME).kubeconfig;
    // staging-eu-1 was two minors behind: upgraded rung by rung to the fleet default.
    const staging = clientsFor(loadKubeConfig(kubeconfig, "staging-eu-1"));
    const nodes = await staging.core.listNode();
    expect(new Set(nodes.items.map((n) => n.status?.nodeInfo?.kubeletVersion))).toEqual(new Set(["v1.35.4"]));
    const rungs = [...new Set((await readUpgradeRecords(staging.core)).map((r) => r.to))];
    // The intermediate rung is the latest 1.34 patch of the bundled release table.
    expect(rungs).toEqual([`v${KUBERNETES_RELEASES.latest["1.34"]?.version}`, "v1.35.4"]);
    for (const cluster of CLUSTERS) {
      const { batch } = clientsFor(loadKubeConfig(kubeconfig, cluster));
      const cronJob = await batch.readNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB });
      expect(cronJob.spec?.schedule).toBeTruthy();
    }

    const again = await bosun(["plan", "--fleet", FLEET, "--detailed-exitcode"], { env });
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  });
});
