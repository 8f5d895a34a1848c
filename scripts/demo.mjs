#!/usr/bin/env node
// bosun's demo: the daemon. Validate fleet-example, start the sandbox behind it (building the binaries
// once if needed), serve a copy of fleet-example from a local Git server, start `bosun run` with its status
// page, and watch it reconcile: upgrades and add-ons wave by wave, the manual production wave approved with
// `bosun approve`; then push a commit that bumps a chart version and watch the daemon roll it out; then
// edit a cluster by hand and watch the drift appear with its diff. The daemon, the Git server and the
// sandbox keep running for you to explore; `npm run demo:stop` stops them all.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import * as k8s from "@kubernetes/client-node";
import { DEMO_DIR, stopDemoProcesses } from "./demo-processes.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repo, "dist/cli/main.js");
const kubeconfig = path.join(repo, ".bosun/sandbox/default/kubeconfig");
const demoDir = path.join(repo, DEMO_DIR);
const started = Date.now();

function step(text) {
  process.stdout.write(`\n\x1b[1m==> ${text}\x1b[0m\n`);
}
function note(text) {
  process.stdout.write(`${text}\n`);
}
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

step("bosun validate fleet-example");
await execa(process.execPath, [cli, "validate", "fleet-example"], { cwd: repo, stdio: "inherit" });

// Every binary the demo needs — the sandbox's and the helm and kustomize that plan and apply run — from
// the one list in the binary catalogue, so a fresh machine builds them all before anything starts.
step("bosun sandbox binaries --for demo   (built once from the Go module proxy, then cached)");
await execa(process.execPath, [cli, "sandbox", "binaries", "--for", "demo"], { cwd: repo, stdio: "inherit" });

// A daemon, Git server or sandbox left by an earlier demo: stop them, so the demo always shows the whole
// way from behind to in sync.
await stopDemoProcesses(repo, note);
const status = await execa(process.execPath, [cli, "sandbox", "status"], { cwd: repo, reject: false });
if (status.exitCode === 0) {
  note("stopping the sandbox of an earlier run first");
  await execa(process.execPath, [cli, "sandbox", "down"], { cwd: repo, stdio: "inherit" });
}
step("bosun sandbox up --from fleet-example --mode full");
await execa(process.execPath, [cli, "sandbox", "up", "--from", "fleet-example", "--mode", "full"], { cwd: repo, stdio: "inherit" });

async function showClusters() {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const rows = [["CLUSTER", "CONTROL PLANE", "KUBELETS"]];
  for (const context of kc.getContexts()) {
    kc.setCurrentContext(context.name);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const [nodes, kubeadm] = await Promise.all([core.listNode(), core.readNamespacedConfigMap({ name: "kubeadm-config", namespace: "kube-system" })]);
    const version = /kubernetesVersion: (\S+)/.exec(kubeadm.data?.ClusterConfiguration ?? "")?.[1] ?? "?";
    const kubelets = [...new Set(nodes.items.map((n) => n.status?.nodeInfo?.kubeletVersion ?? "?"))].sort().join(", ");
    rows.push([context.name, version, `${kubelets} (${nodes.items.length} nodes)`]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) note(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
}
step("the clusters before: versions as their API servers report them");
await showClusters();

// ---- the fleet repository, served over HTTP ----------------------------------------------------------
const { initBareRepository, commitTo } = await import(path.join(repo, "dist/sandbox/git-server.js"));
step("fleet-example as a Git repository, served on 127.0.0.1 by git http-backend");
await fs.mkdir(demoDir, { recursive: true });
const copy = path.join(demoDir, "fleet-example");
await fs.cp(path.join(repo, "fleet-example"), copy, { recursive: true });
// The example's production clusters only take changes in their night-time windows, and its waves soak for
// half an hour and an hour: the demo's copy drops both, loudly, so it finishes in minutes at any hour.
const fleetFile = path.join(copy, "fleet.yaml");
let fleetYaml = await fs.readFile(fleetFile, "utf8");
fleetYaml = fleetYaml.replace(/soak: \S+/g, "soak: 0s").replace(/\n {2}windows:\n[\s\S]*?(?=\n {2}alerting:)/, "\n  windows: []   # the demo's copy: no maintenance windows, so it runs at any hour");
await fs.writeFile(fleetFile, fleetYaml);
note("the demo's copy sets every wave's soak to 0s and has no maintenance windows (fleet-example itself keeps them)");
const bare = path.join(demoDir, "git", "fleet.git");
await fs.mkdir(path.dirname(bare), { recursive: true });
await initBareRepository(copy, bare, { message: "fleet-example" });
const { startDetached } = await import(path.join(repo, "dist/tools/detached.js"));
const portFile = path.join(demoDir, "git-server.port");
const gitPid = await startDetached({ tool: "node", file: process.execPath, args: [path.join(repo, "scripts/demo-git-server.mjs"), path.join(demoDir, "git"), portFile], logFile: path.join(demoDir, "git-server.log") });
await fs.writeFile(path.join(demoDir, "git-server.pid"), `${gitPid}\n`);
const gitPort = await waitFor("the Git server", async () => (await fs.readFile(portFile, "utf8").catch(() => "")).trim() || undefined, 30_000);
const repoUrl = `http://127.0.0.1:${gitPort}/fleet.git`;
note(`serving ${repoUrl}`);

// ---- bosun run ---------------------------------------------------------------------------------------
const port = await freePort(8080);
const server = `http://127.0.0.1:${port}`;
const token = crypto.randomBytes(24).toString("hex");
await fs.writeFile(path.join(demoDir, "api-token"), `${token}\n`, { mode: 0o600 });
const daemonArgs = ["run", "--repo", repoUrl, "--ref", "main", "--listen", `127.0.0.1:${port}`, "--state", path.join(demoDir, "state"), "--interval", "30s", "--drift-interval", "15s", "--log-format", "text"];
step(`bosun ${daemonArgs.join(" ")}`);
const daemonEnv = { KUBECONFIG: kubeconfig, BOSUN_API_TOKEN: token, BOSUN_WEBHOOK_TOKEN: token, NO_COLOR: "1" };
const daemonPid = await startDetached({ tool: "node", file: process.execPath, args: [cli, ...daemonArgs], logFile: path.join(demoDir, "daemon.log"), env: daemonEnv });
await fs.writeFile(path.join(demoDir, "daemon.pid"), `${daemonPid}\n`);
note(`daemon pid ${daemonPid}, log ${path.relative(repo, path.join(demoDir, "daemon.log"))}; status page ${server}/`);

async function api(pathname, init = {}) {
  const response = await fetch(`${server}${pathname}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}
let lastPhases = "";
async function clusters() {
  const { status, body } = await api("/api/v1/status").catch(() => ({ status: 0, body: null }));
  if (status !== 200) return undefined;
  const phases = body.clusters.map((c) => `${c.name}=${c.phase}`).join("  ");
  if (phases !== lastPhases) {
    note(`  [${elapsed()}] ${phases}`);
    lastPhases = phases;
  }
  return body;
}
async function until(what, predicate, timeoutMs) {
  return waitFor(what, async () => {
    const body = await clusters();
    return body && predicate(body) ? body : undefined;
  }, timeoutMs);
}
const phase = (body, name) => body.clusters.find((c) => c.name === name)?.phase;

step("the daemon reconciles the first revision: canary, then staging (upgrades, add-ons, backups); production is a manual wave");
await waitFor("/readyz", async () => ((await fetch(`${server}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 120_000);
const first = await until("canary and staging in sync, production waiting for its approval", (b) => phase(b, "canary-1") === "in-sync" && phase(b, "staging-eu-1") === "in-sync" && b.clusters.filter((c) => c.wave === "production").every((c) => ["awaiting-approval", "in-sync"].includes(c.phase)), 20 * 60_000);
let revision = first.targetRevision;

async function approve(rev) {
  step(`bosun approve --server ${server} --wave production --revision ${rev.slice(0, 12)}`);
  await execa(process.execPath, [cli, "approve", "--server", server, "--wave", "production", "--revision", rev, "--by", "demo"], { cwd: repo, stdio: "inherit", env: { BOSUN_API_TOKEN: token } });
}
await approve(revision);
await until("every cluster in sync", (b) => b.clusters.every((c) => c.phase === "in-sync"), 20 * 60_000);
step("the clusters after");
await showClusters();

// ---- a merged pull request ---------------------------------------------------------------------------
step("a merged pull request: echo chart 0.3.0 → 0.4.0 with a new message, pushed to the served repository");
const pushedAt = Date.now();
revision = await commitTo(bare, "echo 0.4.0", async (dir) => {
  const chart = path.join(dir, "addons/charts/echo/Chart.yaml");
  await fs.writeFile(chart, (await fs.readFile(chart, "utf8")).replace("version: 0.3.0", "version: 0.4.0"));
  const canary = path.join(dir, "clusters/canary-1.yaml");
  await fs.writeFile(canary, (await fs.readFile(canary, "utf8")).replace("canary build of the acme fleet", "canary build 0.4.0 of the acme fleet"));
});
note(`pushed ${revision.slice(0, 12)}; the push webhook (POST /hooks/git) tells the daemon at once instead of waiting for the interval`);
const hook = await fetch(`${server}/hooks/git`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ ref: "refs/heads/main", after: revision }) });
note(`POST /hooks/git: ${hook.status}`);
await until("the daemon applying the new revision", (b) => b.targetRevision === revision && b.clusters.some((c) => c.phase === "applying" || (c.revision === revision && c.lastAppliedAt !== null && Date.parse(c.lastAppliedAt) >= pushedAt)), 120_000);
const firstStep = Date.now() - pushedAt;
await until("canary and staging at the new revision, production waiting for its approval", (b) => ["canary-1", "staging-eu-1"].every((n) => b.clusters.find((c) => c.name === n)?.revision === revision && phase(b, n) === "in-sync") && b.clusters.filter((c) => c.wave === "production").every((c) => ["awaiting-approval", "in-sync"].includes(c.phase)), 10 * 60_000);
note(`push → first step: ${(firstStep / 1000).toFixed(1)} s; push → staging in sync: ${((Date.now() - pushedAt) / 1000).toFixed(1)} s`);
await approve(revision);
await until("every cluster at the new revision", (b) => b.clusters.every((c) => c.phase === "in-sync" && c.revision === revision), 10 * 60_000);

// ---- a hand edit -------------------------------------------------------------------------------------
step("a hand edit: canary-1's monitoring/prometheus-lite-config retention 3d → 90d, as someone with kubectl would");
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
kc.setCurrentContext("canary-1");
await kc.makeApiClient(k8s.CoreV1Api).patchNamespacedConfigMap({ name: "prometheus-lite-config", namespace: "monitoring", body: [{ op: "replace", path: "/data/retention", value: "90d" }] });
const body = await until("the drift reported (the drift interval is 15 s)", (b) => phase(b, "canary-1") === "drifted", 120_000);
const drift = body.clusters.find((c) => c.name === "canary-1").drift;
note(`drift detected at ${drift.detectedAt}: ${drift.steps} step(s) would revert it; fleet-example says report only (drift.correct is not set). The diff:`);
note(drift.diff.split("\n").map((l) => `    ${l}`).join("\n"));
const metrics = await (await fetch(`${server}/metrics`)).text();
note(metrics.split("\n").filter((l) => l.startsWith("bosun_drift{")).map((l) => `  ${l}`).join("\n"));

// What an idle daemon costs, from its own /metrics: memory, and API requests per cluster per drift tick
// (a reconcile tick of an unchanged revision sends none: every cluster converged, nothing is planned).
const sample = (name, labels = "") => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}${labels}`) && !l.startsWith("#"));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
};
const rss = sample("bosun_process_resident_memory_bytes");
note(`the daemon's memory: ${rss === undefined ? "?" : `${(rss / 2 ** 20).toFixed(0)} MiB`} resident`);
for (const c of body.clusters) {
  const requests = sample("bosun_api_requests_total", `{cluster="${c.name}",loop="drift"}`);
  const plans = sample("bosun_plan_duration_seconds_count", `{cluster="${c.name}",loop="drift"}`);
  if (requests !== undefined && plans) note(`  ${c.name}: ${(requests / plans).toFixed(0)} API requests per drift tick (reads and dry-runs, no write)`);
}
note(`helm/kustomize processes started since the daemon started: ${metrics.split("\n").filter((l) => l.startsWith("bosun_render_spawns{")).map((l) => l.replace("bosun_render_spawns", "")).join(", ")}`);

step(`done in ${elapsed()}: the daemon keeps running`);
note(`status page     ${server}/            (a page per cluster: ${server}/clusters/canary-1)
metrics         ${server}/metrics
JSON API        ${server}/api/v1/status
daemon log      ${path.relative(repo, path.join(demoDir, "daemon.log"))}
API token       ${path.relative(repo, path.join(demoDir, "api-token"))}   (bosun approve / pause / resume read BOSUN_API_TOKEN)

export KUBECONFIG=${path.relative(process.cwd(), kubeconfig)}   # one context per cluster
kubectl --context canary-1 -n bosun-system get events          # a Kubernetes Event per step the daemon ran
BOSUN_API_TOKEN=$(cat ${path.relative(repo, path.join(demoDir, "api-token"))}) npm run bosun -- pause --server ${server} --wave production
npm run bosun -- plan --fleet fleet-example -o markdown          # the plan as a pull-request comment
npm run demo:stop                                                # stop the daemon, the Git server and the sandbox
`);

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const log = await fs.readFile(path.join(demoDir, "daemon.log"), "utf8").catch(() => "");
      process.stderr.write(`\ntimed out after ${timeoutMs / 1000} s waiting for ${what}\nlast lines of the daemon's log:\n${log.split("\n").slice(-40).join("\n")}\n`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function freePort(preferred) {
  const tryPort = (p) => new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(undefined));
    probe.listen(p, "127.0.0.1", () => {
      const { port: got } = probe.address();
      probe.close(() => resolve(got));
    });
  });
  return (await tryPort(preferred)) ?? (await tryPort(0));
}
