#!/usr/bin/env node
// Measures the sandbox on this machine: warm `sandbox up` wall time for 1 and 3 clusters in lite and full
// mode, and resident memory per cluster (sum of its processes) and of the shared etcd and node agent.
// Binaries must be built already (`npm run setup`); cold build time is reported by that command.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const runs = Number(process.env.BENCH_RUNS ?? 2);

async function rssMiB(pid) {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function measure(mode, clusters) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bench-"));
  const names = Array.from({ length: clusters }, (_, i) => `c${i + 1}`).join(",");
  const times = [];
  let memory;
  try {
    for (let i = 0; i < runs; i += 1) {
      const started = process.hrtime.bigint();
      await execa(process.execPath, [cli, "sandbox", "up", "--mode", mode, "--clusters", names, "--root", root]);
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (i === runs - 1) {
        // Let controllers settle before reading memory.
        await new Promise((r) => setTimeout(r, 10_000));
        const state = JSON.parse(await fs.readFile(path.join(root, "default/state.json"), "utf8"));
        const perCluster = [];
        for (const c of state.clusters) {
          let sum = 0;
          for (const p of c.processes) sum += await rssMiB(p.pid);
          perCluster.push(sum);
        }
        memory = {
          perClusterMiB: Math.round(perCluster.reduce((a, b) => a + b, 0) / perCluster.length),
          etcdMiB: await rssMiB(state.etcd.pid),
          agentMiB: state.agent ? await rssMiB(state.agent.pid) : 0,
        };
      }
      await execa(process.execPath, [cli, "sandbox", "down", "--root", root]);
    }
  } finally {
    await execa(process.execPath, [cli, "sandbox", "down", "--root", root], { reject: false });
    await fs.rm(root, { recursive: true, force: true });
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return { mode, clusters, upSeconds: Number(median.toFixed(1)), runs: times.map((t) => Number(t.toFixed(1))), ...memory };
}

const results = [];
for (const mode of ["lite", "full"]) {
  for (const clusters of [1, 3]) {
    const result = await measure(mode, clusters);
    results.push(result);
    process.stdout.write(
      `sandbox up ${mode.padEnd(4)} ${clusters} cluster(s): ${String(result.upSeconds).padStart(5)} s (median of ${runs}) | ` +
        `RSS per cluster ${result.perClusterMiB} MiB, etcd ${result.etcdMiB} MiB, agent ${result.agentMiB} MiB\n`,
    );
  }
}
if (process.env.BENCH_JSON) await fs.writeFile(process.env.BENCH_JSON, `${JSON.stringify(results, null, 2)}\n`);
