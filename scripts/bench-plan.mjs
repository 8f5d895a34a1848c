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

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const runs = Number(process.env.BENCH_RUNS ?? 5);
const clusterCount = Number(process.env.BENCH_CLUSTERS ?? 6);

const { loadFleet } = await import(path.join(repo, "dist/spec/load.js"));
const { planFleet } = await import(path.join(repo, "dist/observe/run.js"));
const { resolveTool } = await import(path.join(repo, "dist/tools/helm.js"));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/** The baseline: the commands a user strings together for the same answer. */
async function baseline(fleet, env, helm, kubectl) {
  for (const cluster of fleet.clusters) {
    const context = cluster.connection.context;
    await execa(kubectl, ["--context", context, "get", "nodes"], { env });
    for (const addon of cluster.addons) {
      if (addon.source.kind === "helm") {
        const chart = addon.source.chart;
        const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-values-"));
        const inline = path.join(tmp, "values.json");
        await fs.writeFile(inline, JSON.stringify(addon.source.values));
        const args = ["template", addon.name, chart.kind === "local" ? path.join(fleetDir, chart.path) : chart.name, "--namespace", addon.namespace];
        if (chart.kind === "repo") args.push("--repo", chart.repo, "--version", chart.version);
        for (const file of addon.source.valuesFiles) args.push("--values", path.join(fleetDir, file));
        args.push("--values", inline);
        const rendered = await execa(helm, args, { env });
        // kubectl diff exits 1 when there are differences: that is its answer, not a failure.
        await execa(kubectl, ["--context", context, "diff", "--server-side", "--namespace", addon.namespace, "-f", "-"], { env, input: rendered.stdout, reject: false });
        await fs.rm(tmp, { recursive: true, force: true });
      } else {
        await execa(kubectl, ["--context", context, "diff", "--server-side", "-k", path.join(fleetDir, addon.source.path)], { env, reject: false });
      }
    }
  }
}

/** A fleet directory: fleet-example's fleet.yaml and add-ons, and `count` staging-like clusters. */
async function benchFleet(dir, count) {
  await fs.cp(path.join(repo, "fleet-example/addons"), path.join(dir, "addons"), { recursive: true });
  await fs.copyFile(path.join(repo, "fleet-example/fleet.yaml"), path.join(dir, "fleet.yaml"));
  await fs.mkdir(path.join(dir, "clusters"));
  const sandbox = ["apiVersion: bosun.dev/v1alpha1", "kind: Sandbox", "clusters:"];
  for (let i = 1; i <= count; i += 1) {
    const name = `bench-${i}`;
    await fs.writeFile(
      path.join(dir, "clusters", `${name}.yaml`),
      [
        "apiVersion: bosun.dev/v1alpha1",
        "kind: Cluster",
        `metadata: { name: ${name}, labels: { env: staging, region: eu } }`,
        "spec:",
        `  connection: { context: ${name} }`,
        "  addons:",
        "    - { name: echo, namespace: echo, helm: { chart: addons/charts/echo, valuesFiles: [addons/echo/values-staging.yaml] }, dependsOn: [metrics-server] }",
        "    - { name: monitoring, kustomize: { path: addons/monitoring/overlays/staging }, dependsOn: [metrics-server] }",
        "",
      ].join("\n"),
    );
    sandbox.push(
      `  - name: ${name}`,
      '    kubernetesVersion: "1.35.4"',
      "    nodes:",
      `      - { name: ${name}-cp-1, role: control-plane, zone: eu-1a }`,
      `      - { name: ${name}-worker-1, role: worker, zone: eu-1a }`,
      `      - { name: ${name}-worker-2, role: worker, zone: eu-1b }`,
    );
  }
  await fs.writeFile(path.join(dir, "sandbox.yaml"), `${sandbox.join("\n")}\n`);
}

const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-plan-"));
const fleetDir = path.join(root, "fleet");
try {
  await fs.mkdir(fleetDir);
  await benchFleet(fleetDir, clusterCount);
  process.stderr.write(`starting a sandbox of ${clusterCount} clusters (lite mode)…\n`);
  await execa(process.execPath, [cli, "sandbox", "up", "--from", fleetDir, "--root", root, "--name", "bench"], { cwd: repo });
  const env = { ...process.env, KUBECONFIG: path.join(root, "bench/kubeconfig") };
  const loaded = await loadFleet(fleetDir);
  if (!loaded.ok) throw new Error("fleet-example does not load");
  const fleet = loaded.value;
  const helm = await resolveTool("helm", "BOSUN_HELM");
  const kubectl = await resolveTool("kubectl", "BOSUN_KUBECTL");
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
