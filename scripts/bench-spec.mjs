#!/usr/bin/env node
// Times loading the fleet-example and a generated fleet of 1,000 clusters (not a test: numbers vary by
// machine). Needs a build: `npm run build && node scripts/bench-spec.mjs [clusters]`.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { performance } from "node:perf_hooks";
import { URL, fileURLToPath } from "node:url";

const { loadFleet } = await import(new URL("../dist/spec/load.js", import.meta.url).href);
const example = fileURLToPath(new URL("../fleet-example", import.meta.url));
const count = Number(process.argv[2] ?? 1000);

async function time(label, dir, runs) {
  const samples = [];
  let result;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = await loadFleet(dir);
    samples.push(performance.now() - start);
  }
  if (!result.ok) throw new Error(`${label} is invalid:\n${result.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`).join("\n")}`);
  const first = samples[0];
  const rest = samples.slice(1).sort((a, b) => a - b);
  const median = rest[Math.floor(rest.length / 2)] ?? first;
  process.stdout.write(`${label}: ${result.value.clusters.length} clusters, first load ${first.toFixed(1)} ms (cold: JIT and lazy initialisation), median of ${rest.length} warm loads ${median.toFixed(1)} ms\n`);
}

async function generate(n) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-"));
  await fs.cp(path.join(example, "addons"), path.join(dir, "addons"), { recursive: true });
  await fs.copyFile(path.join(example, "fleet.yaml"), path.join(dir, "fleet.yaml"));
  await fs.mkdir(path.join(dir, "clusters"));
  const envs = ["canary", "staging", "prod"];
  await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const env = envs[i % 3];
      const name = `${env}-${String(i).padStart(4, "0")}`;
      const labels = env === "canary" ? "{ tier: canary, env: canary }" : `{ env: ${env}, region: ${i % 2 ? "eu" : "us"} }`;
      const ha = env === "prod" ? "\n  topology:\n    controlPlane: { replicas: 3, zones: [a, b, c] }" : "";
      const overlay = env === "prod" ? "prod" : "staging";
      const text = `apiVersion: bosun.dev/v1alpha1
kind: Cluster
metadata:
  name: ${name}
  labels: ${labels}
spec:
  connection: { context: ${name} }
  kubernetes: { version: "1.34.${i % 10}" }${ha}
  addons:
    - name: echo
      helm: { chart: addons/charts/echo, valuesFiles: [addons/echo/values-${overlay}.yaml] }
      dependsOn: [metrics-server]
    - name: monitoring
      kustomize: { path: addons/monitoring/overlays/${overlay} }
`;
      return fs.writeFile(path.join(dir, "clusters", `${name}.yaml`), text);
    }),
  );
  return dir;
}

await time("fleet-example", example, 21);
const dir = await generate(count);
try {
  await time(`generated fleet`, dir, 6);
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
