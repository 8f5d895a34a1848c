#!/usr/bin/env node
// Measures `bosun plan` on a sandbox fleet of 6 kubeadm clusters, each with fleet-example's three add-ons
// (two local Helm charts with values files, one Kustomize overlay), against what a user runs today for the
// same answer, in the same run and on the same clusters:
//   per cluster  kubectl get nodes
//   per Helm add-on  helm template … | kubectl diff --server-side -f -
//   per Kustomize add-on  kubectl diff --server-side -k <overlay>
// run one after another, as a shell script does. Prints medians, the ratio, and the API requests bosun
// made per cluster (observation and diff apart). Binaries must be built (`npm run setup`).
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { benchFleet, diffCluster } from "./bench-fleet.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const runs = Number(process.env.BENCH_RUNS ?? 5);
const clusterCount = Number(process.env.BENCH_CLUSTERS ?? 6);

const { loadFleet } = await import(path.join(repo, "dist/spec/load.js"));
const { planFleet } = await import(path.join(repo, "dist/observe/plan-fleet.js"));
const { findProgram } = await import(path.join(repo, "dist/tools/helm.js"));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** The baseline: the commands a user strings together for the same answer. */
async function baseline(fleet, env, helm, kubectl) {
  for (const cluster of fleet.clusters) {
    await execa(kubectl, ["--context", cluster.connection.context, "get", "nodes"], { env });
    await diffCluster(cluster, fleetDir, env, helm, kubectl);
  }
}

const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-plan-"));
const fleetDir = path.join(root, "fleet");
try {
  await fs.mkdir(fleetDir);
  await benchFleet(repo, fleetDir, clusterCount);
  process.stderr.write(`starting a sandbox of ${clusterCount} clusters (lite mode)…\n`);
  await execa(process.execPath, [cli, "sandbox", "up", "--from", fleetDir, "--root", root, "--name", "bench"], { cwd: repo });
  const env = { ...process.env, KUBECONFIG: path.join(root, "bench/kubeconfig") };
  const loaded = await loadFleet(fleetDir);
  if (!loaded.ok) throw new Error("fleet-example does not load");
  const fleet = loaded.value;
  const helm = await findProgram("helm", "BOSUN_HELM");
  const kubectl = await findProgram("kubectl", "BOSUN_KUBECTL");
  const addons = fleet.clusters.reduce((n, c) => n + c.addons.length, 0);

  // One warm-up of each, so neither pays for cold caches (helm's, the API servers') in the measurement.
  await execa(process.execPath, [cli, "plan", "--fleet", fleetDir, "-o", "json"], { env, reject: false });
  await baseline(fleet, env, helm, kubectl);

  const bosunTimes = [];
  const baselineTimes = [];
  for (let i = 0; i < runs; i += 1) {
    let start = process.hrtime.bigint();
    const result = await execa(process.execPath, [cli, "plan", "--fleet", fleetDir, "-o", "json"], { env, reject: false });
    bosunTimes.push(seconds(start));
    if (result.exitCode !== 0) throw new Error(`bosun plan exited ${result.exitCode}: ${result.stderr}`);
    start = process.hrtime.bigint();
    await baseline(fleet, env, helm, kubectl);
    baselineTimes.push(seconds(start));
  }

  const run = await planFleet({ source: { fleet: fleetDir }, clusters: [], env, clusterTimeoutMs: 60_000, now: new Date() });
  const requests = run.ok
    ? Object.fromEntries(run.observed.map((o) => [o.name, o.status === "observed" ? o.requests : o.status]))
    : {};
  const bosunMedian = median(bosunTimes);
  const baselineMedian = median(baselineTimes);
  const report = {
    clusters: fleet.clusters.length,
    addons,
    runs,
    bosunPlanSeconds: Number(bosunMedian.toFixed(2)),
    baselineSeconds: Number(baselineMedian.toFixed(2)),
    speedup: Number((baselineMedian / bosunMedian).toFixed(1)),
    bosunRuns: bosunTimes.map((t) => Number(t.toFixed(2))),
    baselineRuns: baselineTimes.map((t) => Number(t.toFixed(2))),
    requestsPerCluster: requests,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `bosun plan: ${report.bosunPlanSeconds} s for ${report.clusters} clusters and ${addons} add-ons; ` +
      `kubectl get nodes + helm template | kubectl diff --server-side + kubectl diff -k: ${report.baselineSeconds} s ` +
      `→ bosun is ${report.speedup}× as fast\n`,
  );
} finally {
  await execa(process.execPath, [cli, "sandbox", "down", "--root", root, "--name", "bench"], { reject: false });
  await fs.rm(root, { recursive: true, force: true });
}
