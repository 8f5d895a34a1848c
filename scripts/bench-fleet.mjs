// Shared by the plan and apply benchmarks: the bench fleet (fleet-example's fleet.yaml and add-ons with
// `count` staging-like clusters, and the sandbox.yaml that starts them) and the diff a user runs by hand
// for one cluster's add-ons.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

/**
 * Writes the bench fleet into `dir`: clusters `bench-1`…`bench-<count>`, each with fleet-example's three
 * add-ons (metrics-server from the defaults, echo, monitoring). `backup: false` turns the etcd backup off.
 */
export async function benchFleet(repo, dir, count, { backup = true } = {}) {
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
        ...(backup ? [] : ["  backup: { etcd: { enabled: false } }"]),
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

/**
 * The `--values` arguments for a Helm add-on as a user passes them: its values files, then its inline
 * values written to a temp file. Call `cleanup` when the command is done.
 */
export async function helmValuesArgs(addon, fleetDir) {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-values-"));
  const inline = path.join(tmp, "values.json");
  await fs.writeFile(inline, JSON.stringify(addon.source.values));
  const args = [...addon.source.valuesFiles.flatMap((file) => ["--values", path.join(fleetDir, file)]), "--values", inline];
  return { args, cleanup: () => fs.rm(tmp, { recursive: true, force: true }) };
}

/**
 * What a user runs to see one cluster's add-on changes: `helm template … | kubectl diff --server-side -f -`
 * per Helm add-on, `kubectl diff --server-side -k` per Kustomize add-on.
 */
export async function diffCluster(cluster, fleetDir, env, helm, kubectl) {
  const context = cluster.connection.context;
  for (const addon of cluster.addons) {
    if (addon.source.kind === "helm") {
      const chart = addon.source.chart;
      const values = await helmValuesArgs(addon, fleetDir);
      const args = ["template", addon.name, chart.kind === "local" ? path.join(fleetDir, chart.path) : chart.name, "--namespace", addon.namespace];
      if (chart.kind === "repo") args.push("--repo", chart.repo, "--version", chart.version);
      const rendered = await execa(helm, [...args, ...values.args], { env });
      // kubectl diff exits 1 when there are differences: that is its answer, not a failure.
      await execa(kubectl, ["--context", context, "diff", "--server-side", "--namespace", addon.namespace, "-f", "-"], { env, input: rendered.stdout, reject: false });
      await values.cleanup();
    } else {
      await execa(kubectl, ["--context", context, "diff", "--server-side", "-k", path.join(fleetDir, addon.source.path)], { env, reject: false });
    }
  }
}
