/**
 * `bosun sandbox up`: starts one etcd and, per cluster, a real kube-apiserver (and in full mode
 * kube-controller-manager, kube-scheduler and kwok), writes the kubeconfig, seeds kubeadm-shaped objects
 * and starts the node agent. Processes are detached and recorded in `state.json`, so the sandbox outlives
 * the command. If anything fails part-way, everything started so far is stopped again.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BosunError, InternalError, UsageError } from "../errors.js";
import { clientsFor, loadKubeConfig } from "../kube/config.js";
import { httpStatus } from "../kube/errors.js";
import { KubeRest } from "../kube/rest.js";
import { startDetached } from "../tools/detached.js";
import { ensureBinaries, type BinaryPaths, type ProgressSink } from "./binaries/build.js";
import { BINARIES_FOR, VERSIONS, type BinaryName } from "./binaries/catalog.js";
import { linkWorkloadCluster } from "./capi-controller.js";
import { installClusterAPICRDs, seedClusterAPI } from "./capi-seed.js";
import { apiserverArgs, AUDIT_POLICY, controllerManagerArgs, etcdArgs, kwokArgs, schedulerArgs } from "./components.js";
import { stopSandboxProcesses } from "./down.js";
import { acquireLock } from "../lock.js";
import { apiserverReady, etcdHealthy, throwIfAborted, waitFor, type WatchedProcess } from "./health.js";
import { renderKubeconfig, renderTokenFile } from "./kubeconfig.js";
import { KWOK_STAGES } from "./kwok-stages.js";
import { SANDBOX_MARKER, removeSandboxDir, sandboxLayout, type ClusterLayout, type SandboxLayout } from "./layout.js";
import { createCertificateAuthority, createServiceAccountKeys, issueCertificate, randomToken } from "./pki.js";
import { freePorts } from "./ports.js";
import { seedCluster } from "./seed.js";
import { loadSeedSpec, type SeedCluster } from "./seed-spec.js";
import { readState, writeState, type ClusterState, type ComponentName, type ProcessRecord, type SandboxMode, type SandboxState } from "./state.js";
import { sandboxRunning } from "./status.js";

/** What `up` was asked for. */
export interface UpOptions {
  root: string;
  name: string;
  mode: SandboxMode;
  /** Cluster names; with `from`, limits the seeded clusters to these. */
  clusters?: readonly string[];
  /** A directory holding `sandbox.yaml`. */
  from?: string;
  progress: ProgressSink;
  /** How long each cluster may take to become ready. */
  startTimeoutMs?: number;
  /** Aborting it (Ctrl-C) stops whatever was started and fails `up`. */
  signal?: AbortSignal;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DEFAULT_START_TIMEOUT_MS = 300_000;

/**
 * Starts a sandbox and returns its state once every cluster answers `/readyz`. Holds a per-sandbox lock
 * from the "already running?" check to the last state write, so two `up`s of one name never interleave.
 */
export async function sandboxUp(options: UpOptions): Promise<SandboxState> {
  const layout = sandboxLayout(options.root, options.name);
  const seeds = await resolveClusters(options);
  const release = await acquireLock(path.join(path.dirname(layout.dir), `.lock-${layout.name}`), (holder) => {
    options.progress(`waiting for another bosun process (pid ${holder ?? "?"}) that is starting sandbox ${layout.name}`);
  });
  try {
    return await startSandbox(layout, seeds, options);
  } finally {
    await release();
  }
}

async function startSandbox(layout: SandboxLayout, seeds: SeedCluster[] | string[], options: UpOptions): Promise<SandboxState> {
  await refuseIfRunning(layout);

  const started = Date.now();
  const binaries = await ensureBinaries(BINARIES_FOR[options.mode === "full" ? "sandbox-full" : "sandbox-lite"], options.progress);

  throwIfAborted(options.signal);
  await removeSandboxDir(layout);
  await fs.mkdir(layout.logs, { recursive: true });
  await fs.writeFile(path.join(layout.dir, SANDBOX_MARKER), "a bosun sandbox: remove with `bosun sandbox down`\n");
  const state: SandboxState = {
    apiVersion: "bosun.dev/sandbox-state/v1",
    name: options.name,
    mode: options.mode,
    dir: layout.dir,
    createdAt: new Date().toISOString(),
    kubernetesVersion: `v${VERSIONS.kubernetes}`,
    etcd: { component: "etcd", pid: 0, log: path.join(layout.logs, "etcd.log"), clientUrl: "" },
    clusters: [],
  };
  try {
    await startAll(layout, state, seeds, binaries, options);
  } catch (error) {
    options.progress(`start-up failed; stopping what was started (logs kept in ${layout.logs})`);
    await stopSandboxProcesses(state);
    if (error instanceof BosunError) throw error;
    throw new BosunError(`sandbox ${options.name} failed to start: ${errorSummary(error)}`, { reason: "SandboxStartFailed", cause: error });
  }
  options.progress(
    `sandbox ${options.name} is up (${options.mode} mode, ${state.clusters.length} cluster(s), ${Math.round((Date.now() - started) / 1000)}s); ` +
      `KUBECONFIG=${path.relative(process.cwd(), layout.kubeconfig) || layout.kubeconfig}`,
  );
  return state;
}

async function resolveClusters(options: UpOptions): Promise<SeedCluster[] | string[]> {
  for (const name of options.clusters ?? []) {
    if (!DNS_LABEL.test(name) || name.length > 63) throw new UsageError(`--clusters: "${name}" is not a DNS-1123 label`);
  }
  if (options.from !== undefined) {
    const spec = await loadSeedSpec(options.from);
    if (!options.clusters || options.clusters.length === 0) return spec.clusters;
    const unknown = options.clusters.filter((n) => !spec.clusters.some((c) => c.name === n));
    if (unknown.length > 0) throw new UsageError(`--clusters: ${unknown.join(", ")} not in ${spec.file}`);
    const wanted = withManagementClusters(spec.clusters, options.clusters);
    const added = [...wanted].filter((n) => !options.clusters?.includes(n));
    if (added.length > 0) options.progress(`also starting ${added.join(", ")}: the Cluster API management cluster(s) of the clusters asked for`);
    return spec.clusters.filter((c) => wanted.has(c.name));
  }
  if (!options.clusters || options.clusters.length === 0) {
    throw new UsageError("sandbox up needs --clusters a,b,… or --from DIR (a directory with sandbox.yaml)");
  }
  if (new Set(options.clusters).size !== options.clusters.length) throw new UsageError("--clusters: duplicate cluster name");
  return [...options.clusters];
}

/** `names` plus, transitively, the management clusters of those managed through Cluster API. */
function withManagementClusters(clusters: readonly SeedCluster[], names: readonly string[]): Set<string> {
  const wanted = new Set(names);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of clusters) {
      const management = c.clusterAPI?.management;
      if (management !== undefined && wanted.has(c.name) && !wanted.has(management)) {
        wanted.add(management);
        grew = true;
      }
    }
  }
  return wanted;
}

async function refuseIfRunning(layout: SandboxLayout): Promise<void> {
  const existing = await readState(layout);
  if (!existing) return;
  if (await sandboxRunning(existing)) {
    throw new BosunError(
      `sandbox ${layout.name} is already running (${existing.mode} mode, clusters ${existing.clusters.map((c) => c.name).join(", ")}, ` +
        `since ${existing.createdAt}); use it with KUBECONFIG=${layout.kubeconfig}, or stop it with: bosun sandbox down --name ${layout.name}`,
      { reason: "SandboxExists" },
    );
  }
  // Left over from a machine restart or a killed `up`: nothing of it runs any more.
  await stopSandboxProcesses(existing);
}

async function startAll(
  layout: SandboxLayout,
  state: SandboxState,
  seeds: readonly SeedCluster[] | readonly string[],
  binaries: BinaryPaths,
  options: UpOptions,
): Promise<void> {
  const names = seeds.map((s) => (typeof s === "string" ? s : s.name));
  // Ports are taken from the kernel just before the processes that use them start, to keep the window
  // in which another program could take one short.
  const ports = await freePorts(2 + names.length);
  const [etcdClient = 0, etcdPeer = 0] = ports;
  const signal = options.signal;
  const timeout = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const marker = layout.dir;

  options.progress("creating the sandbox CA, certificates and tokens");
  await fs.mkdir(path.dirname(layout.caCert), { recursive: true });
  const ca = await createCertificateAuthority(`bosun-sandbox-${layout.name}`);
  await fs.writeFile(layout.caCert, ca.certPem);
  await fs.writeFile(layout.caKey, ca.keyPem, { mode: 0o600 });
  await fs.writeFile(layout.kwokStages, KWOK_STAGES);
  await fs.writeFile(layout.auditPolicy, AUDIT_POLICY);

  // etcd first: every API server stores its objects there, under its own prefix.
  state.etcd.clientUrl = `http://127.0.0.1:${etcdClient}`;
  state.etcd.port = etcdClient;
  state.etcd.pid = await startDetached({ tool: "etcd", file: need(binaries, "etcd"), args: etcdArgs(layout, etcdClient, etcdPeer), logFile: state.etcd.log });
  await writePidFile(layout, "etcd", state.etcd.pid);
  await writeState(layout, state);
  options.progress(`etcd started on ${state.etcd.clientUrl}`);
  await waitFor("etcd", () => etcdHealthy(state.etcd.clientUrl), 60_000, [watch("etcd", state.etcd, marker)], signal);

  const tokens = new Map<string, string>();
  for (const [index, name] of names.entries()) {
    throwIfAborted(signal);
    const apiserverPort = ports[2 + index] ?? 0;
    const cluster = layout.cluster(name);
    const token = randomToken();
    tokens.set(name, token);
    await writeClusterFiles(cluster, ca, name, token, apiserverPort);
    const record: ClusterState = {
      name,
      server: `https://127.0.0.1:${apiserverPort}`,
      apiserverPort,
      etcdPrefix: `/bosun-sandbox/${layout.name}/${name}`,
      processes: [],
    };
    const seed = seeds[index];
    if (seed !== undefined && typeof seed !== "string") record.seededVersion = seed.kubernetesVersion;
    state.clusters.push(record);
    const runtimeConfig = seed !== undefined && typeof seed !== "string" ? (seed.runtimeConfig ?? []) : [];
    await start(layout, state, record, binaries, "kube-apiserver", apiserverArgs(layout, cluster, state.etcd.clientUrl, record.etcdPrefix, apiserverPort, runtimeConfig), apiserverPort);
  }
  await fs.writeFile(
    layout.kubeconfig,
    renderKubeconfig(ca.certPem, state.clusters.map((c) => ({ cluster: c.name, server: c.server, token: tokens.get(c.name) ?? "" }))),
    { mode: 0o600 },
  );
  options.progress(`waiting for ${names.length} kube-apiserver(s) to answer /readyz (a cold start takes 30–120s)`);
  await Promise.all(state.clusters.map((c) => waitForApiserver(layout, c, timeout, marker, signal)));

  if (options.mode === "full") {
    for (const c of state.clusters) {
      throwIfAborted(signal);
      const cluster = layout.cluster(c.name);
      await fs.mkdir(cluster.kcmCertDir, { recursive: true });
      await fs.mkdir(cluster.schedulerCertDir, { recursive: true });
      const [kcmPort = 0, schedulerPort = 0, kwokPort = 0] = await freePorts(3);
      await start(layout, state, c, binaries, "kube-controller-manager", controllerManagerArgs(layout, cluster, kcmPort), kcmPort);
      await start(layout, state, c, binaries, "kube-scheduler", schedulerArgs(cluster, schedulerPort), schedulerPort);
      await start(layout, state, c, binaries, "kwok", kwokArgs(layout, cluster, kwokPort), kwokPort);
    }
    options.progress("waiting for controllers (default service accounts) in every cluster");
    await Promise.all(state.clusters.map((c) => waitForControllers(layout, c, timeout, marker, signal)));
  }

  for (const seed of seeds) {
    throwIfAborted(signal);
    if (typeof seed === "string") continue;
    options.progress(`seeding ${seed.name}: kubeadm-config, ${seed.nodes.length} node(s) at v${seed.kubernetesVersion}, static control-plane pods`);
    await seedCluster(loadKubeConfig(layout.kubeconfig, seed.name), seed);
  }
  // Every API server answers by now, so each management cluster is up before its workload clusters'
  // Cluster API objects go into it; management clusters are seeded side by side.
  await Promise.all(
    managementGroups(seeds).map(async ([management, managed]) => {
      const rest = new KubeRest(loadKubeConfig(layout.kubeconfig, management), { cluster: management, timeoutMs: 30_000 });
      options.progress(`installing the Cluster API CRDs in ${management} (management cluster of ${managed.map((m) => m.name).join(", ")})`);
      await installClusterAPICRDs(rest, signal);
      for (const seed of managed) {
        throwIfAborted(signal);
        options.progress(`seeding ${seed.name}'s Cluster API objects in ${management}: Cluster, KubeadmControlPlane, MachineDeployment (converged)`);
        await seedClusterAPI(rest, seed);
        // Tells the agent's simulated Cluster API controller whose Nodes are this Cluster's machines.
        await linkWorkloadCluster(rest, seed);
      }
    }),
  );

  const agentLog = path.join(layout.logs, "agent.log");
  state.agent = {
    component: "agent",
    log: agentLog,
    pid: await startDetached({
      tool: "node",
      file: process.execPath,
      args: [cliEntry(), "sandbox", "agent", "--dir", layout.dir],
      logFile: agentLog,
    }),
  };
  await writePidFile(layout, "agent", state.agent.pid);
  await writeState(layout, state);
}

/** The clusters managed through Cluster API, grouped by management cluster, in file order. */
function managementGroups(seeds: readonly SeedCluster[] | readonly string[]): [string, SeedCluster[]][] {
  const groups = new Map<string, SeedCluster[]>();
  for (const seed of seeds) {
    if (typeof seed === "string" || seed.clusterAPI === undefined) continue;
    const group = groups.get(seed.clusterAPI.management) ?? [];
    group.push(seed);
    groups.set(seed.clusterAPI.management, group);
  }
  return [...groups];
}

async function writePidFile(layout: SandboxLayout, name: string, pid: number): Promise<void> {
  await fs.mkdir(layout.pids, { recursive: true });
  await fs.writeFile(path.join(layout.pids, `${name}.pid`), `${pid}\n`);
}

async function writeClusterFiles(
  cluster: ClusterLayout,
  ca: Awaited<ReturnType<typeof createCertificateAuthority>>,
  name: string,
  token: string,
  port: number,
): Promise<void> {
  await fs.mkdir(cluster.dir, { recursive: true });
  const serving = await issueCertificate(ca, {
    commonName: "kube-apiserver",
    usage: "server",
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
    ipAddresses: ["127.0.0.1", "10.96.0.1"],
  });
  const sa = await createServiceAccountKeys();
  await fs.writeFile(cluster.servingCert, serving.certPem);
  await fs.writeFile(cluster.servingKey, serving.keyPem, { mode: 0o600 });
  await fs.writeFile(cluster.serviceAccountKey, sa.privatePem, { mode: 0o600 });
  await fs.writeFile(cluster.serviceAccountPub, sa.publicPem);
  await fs.writeFile(cluster.tokens, renderTokenFile(token), { mode: 0o600 });
  await fs.writeFile(
    cluster.kubeconfig,
    renderKubeconfig(ca.certPem, [{ cluster: name, server: `https://127.0.0.1:${port}`, token }]),
    { mode: 0o600 },
  );
}

/** Starts one cluster component and records it in the state file at once, so `down` always finds it. */
async function start(
  layout: SandboxLayout,
  state: SandboxState,
  record: ClusterState,
  binaries: BinaryPaths,
  component: Exclude<ComponentName, "etcd" | "agent">,
  args: string[],
  port: number,
): Promise<void> {
  const log = layout.cluster(record.name).log(component);
  const pid = await startDetached({ tool: component, file: need(binaries, component), args, logFile: log });
  record.processes.push({ component, pid, port, log });
  await writeState(layout, state);
  await writePidFile(layout, `${record.name}-${component}`, pid);
}

async function waitForApiserver(layout: SandboxLayout, c: ClusterState, timeoutMs: number, marker: string, signal?: AbortSignal): Promise<void> {
  const kc = loadKubeConfig(layout.kubeconfig, c.name);
  const core = clientsFor(kc).core;
  const apiserver = c.processes.find((p) => p.component === "kube-apiserver");
  const watched = apiserver ? [watch(`${c.name} kube-apiserver`, apiserver, marker)] : [];
  await waitFor(`${c.name}: /readyz and namespace default`, async () => {
    if (!(await apiserverReady(kc))) return false;
    try {
      await core.readNamespace({ name: "default" });
      return true;
    } catch {
      return false;
    }
  }, timeoutMs, watched, signal);
}

async function waitForControllers(layout: SandboxLayout, c: ClusterState, timeoutMs: number, marker: string, signal?: AbortSignal): Promise<void> {
  const core = clientsFor(loadKubeConfig(layout.kubeconfig, c.name)).core;
  const watched = c.processes.map((p) => watch(`${c.name} ${p.component}`, p, marker));
  // The service-account controller creates `default` in every namespace; until it has, Pods are refused.
  await waitFor(`${c.name}: kube-controller-manager`, async () => {
    try {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
      return true;
    } catch (error) {
      if (httpStatus(error) === 404 || httpStatus(error) === undefined) return false;
      throw error;
    }
  }, timeoutMs, watched, signal);
}

/** The first line of an error, plus the API server's message when it is a Kubernetes API error. */
function errorSummary(error: unknown): string {
  const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
  const body = (error as { body?: unknown }).body;
  if (typeof body !== "string") return first;
  try {
    const status = JSON.parse(body) as { message?: unknown };
    return typeof status.message === "string" ? `${first}: ${status.message}` : first;
  } catch {
    return first;
  }
}

function watch(what: string, record: ProcessRecord, marker: string): WatchedProcess {
  return { what, pid: record.pid, marker, log: record.log };
}

function need(binaries: BinaryPaths, name: BinaryName): string {
  const file = binaries[name];
  if (!file) throw new InternalError(`${name} was not located`);
  return file;
}

/** The compiled CLI entry point, used to start the node agent as a separate process. */
function cliEntry(): string {
  const here = fileURLToPath(import.meta.url);
  // From dist/sandbox/up.js the CLI is dist/cli/main.js; from src (tests) it is the built copy.
  if (here.endsWith(".ts")) return path.resolve(path.dirname(here), "../../dist/cli/main.js");
  return path.resolve(path.dirname(here), "../cli/main.js");
}
