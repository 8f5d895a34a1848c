/**
 * A sandbox of its own (lite mode, three clusters): isolation between clusters, the real version on
 * /version, status, refusal of a second `up`, and a `down` that leaves no process and no port behind.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSIONS } from "../../src/sandbox/binaries/catalog.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { portInUse } from "../../src/sandbox/ports.js";
import { allProcesses, readState, type SandboxState } from "../../src/sandbox/state.js";
import { KubeRest } from "../../src/kube/rest.js";
import { processGone } from "../../src/tools/detached.js";
import { loadKubeConfig } from "../../src/kube/config.js";
import { bosun, sandboxCluster } from "../support/sandbox.js";

const CLUSTERS = ["red", "green", "blue"];

describe("sandbox lifecycle (lite, 3 clusters)", () => {
  let root: string;
  let kubeconfig: string;
  let state: SandboxState;
  let downDone = false;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-lifecycle-"));
    const up = await bosun(["sandbox", "up", "--clusters", CLUSTERS.join(","), "--root", root, "--name", "life"]);
    expect(up.exitCode, up.stderr).toBe(0);
    kubeconfig = sandboxLayout(root, "life").kubeconfig;
    const read = await readState(sandboxLayout(root, "life"));
    if (!read) throw new Error("no state after up");
    state = read;
  });

  afterAll(async () => {
    if (!downDone) await bosun(["sandbox", "down", "--root", root, "--name", "life"]);
    await fs.rm(root, { recursive: true, force: true });
  });

  it("writes one context per cluster, carrying the CA and no insecure-skip-tls-verify", async () => {
    const text = await fs.readFile(kubeconfig, "utf8");
    expect(text).not.toContain("insecure-skip-tls-verify");
    const kc = loadKubeConfig(kubeconfig);
    expect(kc.getContexts().map((c) => c.name).sort()).toEqual([...CLUSTERS].sort());
    for (const cluster of kc.getClusters()) expect(cluster.caData).toBeTruthy();
  });

  it("keeps a pid file and a log per process in the sandbox directory", async () => {
    const layout = sandboxLayout(root, "life");
    const pidFiles = (await fs.readdir(layout.pids)).sort();
    expect(pidFiles).toEqual(["agent.pid", "blue-kube-apiserver.pid", "etcd.pid", "green-kube-apiserver.pid", "red-kube-apiserver.pid"]);
    expect(Number((await fs.readFile(`${layout.pids}/etcd.pid`, "utf8")).trim())).toBe(state.etcd.pid);
    for (const p of allProcesses(state)) await fs.access(p.log);
  });

  it("keeps clusters apart: a namespace created in one is not visible in the others", async () => {
    const ns = `only-in-red-${Date.now()}`;
    await sandboxCluster("red", kubeconfig).core.createNamespace({ body: { metadata: { name: ns } } });
    await sandboxCluster("red", kubeconfig).core.readNamespace({ name: ns });
    for (const other of ["green", "blue"]) {
      const names = (await sandboxCluster(other, kubeconfig).core.listNamespace()).items.map((n) => n.metadata?.name);
      expect(names).toContain("default");
      expect(names).not.toContain(ns);
    }
  });

  it.each(CLUSTERS)("cluster %s reports the built Kubernetes release on /version", async (cluster) => {
    const response = await new KubeRest(loadKubeConfig(kubeconfig, cluster), { cluster, timeoutMs: 5_000 }).send({ method: "GET", path: "/version" });
    expect(response.status).toBe(200);
    expect((JSON.parse(response.body) as { gitVersion: string }).gitVersion).toBe(`v${VERSIONS.kubernetes}`);
  });

  it("reports every cluster healthy in status (text and json)", async () => {
    const text = await bosun(["sandbox", "status", "--root", root, "--name", "life"]);
    expect(text.exitCode).toBe(0);
    for (const cluster of CLUSTERS) expect(text.stdout).toMatch(new RegExp(`^${cluster}\\s+yes\\s+v${VERSIONS.kubernetes.replaceAll(".", "\\.")}`, "m"));
    const json = await bosun(["sandbox", "status", "--root", root, "--name", "life", "-o", "json"]);
    const health = JSON.parse(json.stdout) as { healthy: boolean; clusters: { name: string; ready: boolean }[] };
    expect(health.healthy).toBe(true);
    expect(health.clusters.map((c) => c.ready)).toEqual([true, true, true]);
  });

  it("refuses a second up with the same name and leaves the first running", async () => {
    const again = await bosun(["sandbox", "up", "--clusters", "red", "--root", root, "--name", "life"]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("sandbox life is already running");
    const status = await bosun(["sandbox", "status", "--root", root, "--name", "life"]);
    expect(status.exitCode).toBe(0);
  });

  it("down stops every process of the sandbox, frees its ports and removes its state", async () => {
    const processes = allProcesses(state);
    const ports = [state.etcd.port, ...state.clusters.map((c) => c.apiserverPort)].filter((p): p is number => p !== undefined);
    expect(processes.length).toBe(1 + CLUSTERS.length + 1);
    const down = await bosun(["sandbox", "down", "--root", root, "--name", "life"]);
    downDone = true;
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain("stopped (5 processes)");
    for (const p of processes) expect(await processGone(p.pid), `${p.component} pid ${p.pid}`).toBe(true);
    for (const port of ports) expect(await portInUse(port), `port ${port}`).toBe(false);
    await expect(fs.access(sandboxLayout(root, "life").dir)).rejects.toThrow();
    const status = await bosun(["sandbox", "status", "--root", root, "--name", "life"]);
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toContain("not running");
  });
});

describe("sandbox lifecycle (full, 1 cluster)", () => {
  it("down stops the controllers, scheduler, kwok and node agent too, and frees every port", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-lifecycle-full-"));
    try {
      const up = await bosun(["sandbox", "up", "--mode", "full", "--clusters", "solo", "--root", root, "--name", "full"]);
      expect(up.exitCode, up.stderr).toBe(0);
      const state = await readState(sandboxLayout(root, "full"));
      if (!state) throw new Error("no state after up");
      const processes = allProcesses(state);
      expect(processes.map((p) => p.component).sort()).toEqual(
        ["agent", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"],
      );
      const ports = processes.map((p) => p.port).filter((p): p is number => p !== undefined);
      expect(ports).toHaveLength(5);
      const down = await bosun(["sandbox", "down", "--root", root, "--name", "full"]);
      expect(down.exitCode).toBe(0);
      for (const p of processes) expect(await processGone(p.pid), `${p.component} pid ${p.pid}`).toBe(true);
      for (const port of ports) expect(await portInUse(port), `port ${port}`).toBe(false);
    } finally {
      await bosun(["sandbox", "down", "--root", root, "--name", "full"]);
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
