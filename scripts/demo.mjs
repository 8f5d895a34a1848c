#!/usr/bin/env node
// bosun's demo: validate fleet-example, start the sandbox behind it in full mode (building the binaries
// once if needed), show every cluster's nodes and versions as a kubeadm cluster shows them through its
// API, plan the fleet against the live sandbox, apply the plan (upgrades, add-ons, backup schedules,
// wave by wave), show the versions again, and plan once more: the fleet is in sync.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import * as k8s from "@kubernetes/client-node";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const kubeconfig = path.join(repo, ".bosun/sandbox/default/kubeconfig");

function step(text) {
  process.stdout.write(`\n\x1b[1m==> ${text}\x1b[0m\n`);
}

step("bosun validate fleet-example");
await execa(process.execPath, [cli, "validate", "fleet-example"], { cwd: repo, stdio: "inherit" });

// Every binary the demo needs — the sandbox's and the helm and kustomize that plan and apply run — from
// the one list in the binary catalogue, so a fresh machine builds them all before anything starts.
step("bosun sandbox binaries --for demo   (built once from the Go module proxy, then cached)");
await execa(process.execPath, [cli, "sandbox", "binaries", "--for", "demo"], { cwd: repo, stdio: "inherit" });

step("bosun sandbox up --from fleet-example --mode full");
// A sandbox left by an earlier demo has already been upgraded (or runs in lite mode, where no Job ever
// completes): start afresh so the demo always shows the whole way from behind to in sync.
const status = await execa(process.execPath, [cli, "sandbox", "status"], { cwd: repo, reject: false });
if (status.exitCode === 0) {
  process.stdout.write("stopping the sandbox of an earlier run first\n");
  await execa(process.execPath, [cli, "sandbox", "down"], { cwd: repo, stdio: "inherit" });
}
await execa(process.execPath, [cli, "sandbox", "up", "--from", "fleet-example", "--mode", "full"], { cwd: repo, stdio: "inherit" });

step("bosun sandbox status");
await execa(process.execPath, [cli, "sandbox", "status"], { cwd: repo, stdio: "inherit" });

async function showClusters() {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  for (const context of kc.getContexts()) {
    kc.setCurrentContext(context.name);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const [nodes, kubeadm] = await Promise.all([
      core.listNode(),
      core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" }),
    ]);
    const version = /kubernetesVersion: (\S+)/.exec(kubeadm.data?.ClusterConfiguration ?? "")?.[1] ?? "?";
    step(`${context.name}: control plane ${version} (kube-system/kubeadm-config)`);
    const rows = [["NODE", "ROLE", "ZONE", "KUBELET"]];
    for (const node of nodes.items) {
      const labels = node.metadata?.labels ?? {};
      rows.push([
        node.metadata?.name ?? "",
        "node-role.kubernetes.io/control-plane" in labels ? "control-plane" : "worker",
        labels["topology.kubernetes.io/zone"] ?? "-",
        node.status?.nodeInfo?.kubeletVersion ?? "?",
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()}\n`);
  }
}

await showClusters();

const env = { ...process.env, KUBECONFIG: kubeconfig };
let failed = false;

step("bosun plan --fleet fleet-example   (KUBECONFIG: the sandbox's kubeconfig)");
const planned = await execa(process.execPath, [cli, "plan", "--fleet", "fleet-example", "--out", path.join(repo, ".bosun/demo-plan.json")], {
  cwd: repo,
  stdio: "inherit",
  reject: false,
  env,
});
if (planned.exitCode !== 0) {
  process.stderr.write(`bosun plan exited with ${planned.exitCode}\n`);
  failed = true;
}

// The example's production clusters only take changes in their night-time windows, and its waves soak for
// half an hour and an hour: the demo overrides both, loudly, so it finishes in minutes at any hour.
step("bosun apply --fleet fleet-example --yes --ignore-windows --skip-soak");
const applied = await execa(process.execPath, [cli, "apply", "--fleet", "fleet-example", "--yes", "--ignore-windows", "--skip-soak"], {
  cwd: repo,
  stdio: "inherit",
  reject: false,
  env,
});
if (applied.exitCode !== 0) {
  process.stderr.write(`bosun apply exited with ${applied.exitCode}\n`);
  failed = true;
}

await showClusters();

step("bosun plan --fleet fleet-example --detailed-exitcode   (0: in sync)");
const again = await execa(process.execPath, [cli, "plan", "--fleet", "fleet-example", "--detailed-exitcode"], { cwd: repo, stdio: "inherit", reject: false, env });
process.stdout.write(`exit code ${again.exitCode}${again.exitCode === 0 ? ": every cluster is in sync with fleet-example" : ""}\n`);
if (again.exitCode !== 0) failed = true;
if (failed) process.exitCode = 1;

step("next");
process.stdout.write(`export KUBECONFIG=${path.relative(process.cwd(), kubeconfig)}   # one context per cluster
kubectl --context prod-eu-1 get nodes
npm run bosun -- plan --fleet fleet-example -o markdown   # the plan as a pull-request comment
npm run bosun -- plan --fleet fleet-example --detailed-exitcode; echo $?   # 0: in sync, 2: changes
kubectl --context canary-1 -n kube-system get jobs -l bosun.dev/node-upgrade   # the upgrade Jobs bosun ran
kubectl --context canary-1 -n bosun-system get configmap bosun-journal -o yaml   # the apply journal
npm run bosun -- sandbox down                     # stop everything the demo started
`);
