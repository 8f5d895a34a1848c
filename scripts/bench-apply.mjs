#!/usr/bin/env node
// Measures `bosun apply` converging a sandbox fleet (full mode: Deployments really roll out) of 4 kubeadm
// clusters, each with fleet-example's three add-ons (two local Helm charts with values files, one
// Kustomize overlay), against what a user runs today for the same result, in the same run and on the same
// clusters, one cluster after another as a shell script does:
//   per Helm add-on       helm upgrade --install … --wait
//   per Kustomize add-on  kubectl apply --server-side -k <overlay>, then kubectl rollout status
// and, since `bosun apply` first computes and shows the plan (a server-side dry-run diff of every object),
// also against the same commands preceded by the diff a user reviews before applying (as `bosun plan`'s
// benchmark runs it: helm template | kubectl diff --server-side, kubectl diff --server-side -k).
// Between measurements every add-on is removed again, so each run installs from scratch. bosun runs the
// fleet's waves with --skip-soak (the example soaks its staging wave for 30 minutes). Prints medians and
// both ratios. Binaries must be built (`npm run setup`).
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { benchFleet, diffCluster, helmValuesArgs } from "./bench-fleet.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const runs = Number(process.env.BENCH_RUNS ?? 3);
const clusterCount = Number(process.env.BENCH_CLUSTERS ?? 4);

const { loadFleet } = await import(path.join(repo, "dist/spec/load.js"));
const { findProgram } = await import(path.join(repo, "dist/tools/helm.js"));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** The baseline: the commands a user strings together to install the same add-ons. */
async function baseline(fleet, env, helm, kubectl) {
  for (const cluster of fleet.clusters) {
    const context = cluster.connection.context;
    for (const addon of cluster.addons) {
      if (addon.source.kind === "helm") {
        const values = await helmValuesArgs(addon, fleetDir);
        const args = ["upgrade", "--install", addon.name, path.join(fleetDir, addon.source.chart.path), "--namespace", addon.namespace, "--create-namespace"];
        await execa(helm, [...args, ...values.args, "--wait", "--timeout", "5m", "--kube-context", context], { env });
        await values.cleanup();
      } else {
        const overlay = path.join(fleetDir, addon.source.path);
        await execa(kubectl, ["--context", context, "apply", "--server-side", "--field-manager", "bench", "-k", overlay], { env });
        await execa(kubectl, ["--context", context, "-n", "monitoring", "rollout", "status", "deployment/prometheus-lite", "--timeout=5m"], { env });
      }
    }
  }
}

/** The diff a user looks at before installing: what `bosun apply` shows first. */
async function diff(fleet, env, helm, kubectl) {
  for (const cluster of fleet.clusters) await diffCluster(cluster, fleetDir, env, helm, kubectl);
}

/** Removes every add-on again (and bosun's records of them), so the next measurement starts from scratch. */
async function reset(fleet, env, helm, kubectl) {
  for (const cluster of fleet.clusters) {
    const context = cluster.connection.context;
    for (const addon of [...cluster.addons].reverse()) {
      if (addon.source.kind === "helm") {
        await execa(helm, ["uninstall", addon.name, "--namespace", addon.namespace, "--kube-context", context, "--wait"], { env, reject: false });
      } else {
        await execa(kubectl, ["--context", context, "delete", "-k", path.join(fleetDir, addon.source.path), "--ignore-not-found", "--wait"], { env, reject: false });
      }
    }
    await execa(kubectl, ["--context", context, "delete", "namespace", "echo", "--ignore-not-found", "--wait"], { env, reject: false });
    await execa(kubectl, ["--context", context, "-n", "bosun-system", "delete", "configmap", "bosun-inventory", "bosun-journal", "--ignore-not-found"], { env, reject: false });
  }
}

const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-apply-"));
const fleetDir = path.join(root, "fleet");
try {
  await fs.mkdir(fleetDir);
  await benchFleet(repo, fleetDir, clusterCount, { backup: false });
  process.stderr.write(`starting a sandbox of ${clusterCount} clusters (full mode)…\n`);
  await execa(process.execPath, [cli, "sandbox", "up", "--from", fleetDir, "--root", root, "--name", "bench", "--mode", "full"], { cwd: repo });
  const env = { ...process.env, KUBECONFIG: path.join(root, "bench/kubeconfig") };
  const loaded = await loadFleet(fleetDir);
  if (!loaded.ok) throw new Error("the bench fleet does not load");
  const fleet = loaded.value;
  const helm = await findProgram("helm", "BOSUN_HELM");
  const kubectl = await findProgram("kubectl", "BOSUN_KUBECTL");
  const addons = fleet.clusters.reduce((n, c) => n + c.addons.length, 0);
  const apply = ["apply", "--fleet", fleetDir, "--yes", "--skip-soak"];

  // One warm-up of each, so neither pays for cold caches (helm's, the API servers') in the measurement.
  await execa(process.execPath, [cli, ...apply], { env });
  await reset(fleet, env, helm, kubectl);
  await baseline(fleet, env, helm, kubectl);
  await reset(fleet, env, helm, kubectl);

  const bosunTimes = [];
  const installTimes = [];
  const diffTimes = [];
  for (let i = 0; i < runs; i += 1) {
    let start = process.hrtime.bigint();
    const result = await execa(process.execPath, [cli, ...apply], { env, reject: false });
    bosunTimes.push(seconds(start));
    if (result.exitCode !== 0) throw new Error(`bosun apply exited ${result.exitCode}: ${result.stdout.slice(-2000)}`);
    await reset(fleet, env, helm, kubectl);
    start = process.hrtime.bigint();
    await diff(fleet, env, helm, kubectl);
    diffTimes.push(seconds(start));
    start = process.hrtime.bigint();
    await baseline(fleet, env, helm, kubectl);
    installTimes.push(seconds(start));
    await reset(fleet, env, helm, kubectl);
  }

  const bosunMedian = median(bosunTimes);
  const installMedian = median(installTimes);
  const withDiffMedian = median(installTimes.map((t, i) => t + (diffTimes[i] ?? 0)));
  const report = {
    clusters: fleet.clusters.length,
    addons,
    runs,
    bosunApplySeconds: Number(bosunMedian.toFixed(2)),
    installOnlySeconds: Number(installMedian.toFixed(2)),
    diffThenInstallSeconds: Number(withDiffMedian.toFixed(2)),
    ratioVsInstallOnly: Number((installMedian / bosunMedian).toFixed(2)),
    ratioVsDiffThenInstall: Number((withDiffMedian / bosunMedian).toFixed(2)),
    bosunRuns: bosunTimes.map((t) => Number(t.toFixed(2))),
    installRuns: installTimes.map((t) => Number(t.toFixed(2))),
    diffRuns: diffTimes.map((t) => Number(t.toFixed(2))),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `bosun apply: ${report.bosunApplySeconds} s for ${report.clusters} clusters and ${addons} add-ons (its plan, lock, journal and waves included)\n` +
      `  vs helm upgrade --install --wait + kubectl apply --server-side -k + rollout status, cluster after cluster: ${report.installOnlySeconds} s → ${report.ratioVsInstallOnly}×\n` +
      `  vs the same after helm template | kubectl diff + kubectl diff -k: ${report.diffThenInstallSeconds} s → ${report.ratioVsDiffThenInstall}×\n`,
  );
} finally {
  await execa(process.execPath, [cli, "sandbox", "down", "--root", root, "--name", "bench"], { reject: false });
  await fs.rm(root, { recursive: true, force: true });
}
