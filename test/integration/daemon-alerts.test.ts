/**
 * Drift alerts end to end: the daemon's loop (in this process) on the fleet test/fixtures/fleets/daemon,
 * served by a real `git http-backend`, with an Alertmanager receiver in `spec.alerting` pointing at a real
 * Alertmanager (Debian's package). A hand edit in alpha yields exactly one firing alert with the cluster
 * label and the diff annotation; five more drift ticks leave it one; undoing the edit resolves it.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { testDaemon } from "../support/daemon.js";
import { alertsIn, startAlertmanager, type Alertmanager } from "../support/alertmanager.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { deleteNamespaces, eventually, forgetAddons, sandboxCluster } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/daemon");
const NAMESPACE = "dmn-settings";
const alpha = sandboxCluster("alpha");
const gamma = sandboxCluster("gamma");

let work: string;
let git: GitServer;
let alertmanager: Alertmanager;
let daemon: Daemon | undefined;
let logs: string[] = [];

async function driftAlerts(): Promise<Awaited<ReturnType<typeof alertsIn>>> {
  return (await alertsIn(alertmanager)).filter((a) => a.labels.alertname === "BosunDrift" && a.labels.cluster === "alpha" && a.status.state === "active");
}

/** `eventually`, and on a timeout the daemon's last log lines in the error: what it saw and sent. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  try {
    return await eventually(what, probe, timeoutMs);
  } catch (error) {
    const tail = logs.join("").trim().split("\n").slice(-40).join("\n");
    throw new Error(`${(error as Error).message}\nthe daemon's last log lines:\n${tail}`, { cause: error });
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await daemon?.idle();
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-daemon-alerts-"));
  alertmanager = await startAlertmanager(work);
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  // The fixture with one Alertmanager receiver; its URL comes from the environment, as in production.
  const fleet = path.join(work, "fleet");
  await fs.cp(FIXTURE, fleet, { recursive: true });
  await fs.appendFile(path.join(fleet, "fleet.yaml"), "  alerting:\n    repeatInterval: 1m\n    receivers:\n      - name: oncall\n        type: alertmanager\n        urlFromEnv: BOSUN_SECRET_ALERTMANAGER_URL\n        events: [drift, drift-resolved]\n");
  git = await startGitServer();
  const url = await git.serveFixture(fleet, "fleet");
  const built = testDaemon({
    work,
    source: { repo: url, ref: "main" },
    env: { BOSUN_SECRET_ALERTMANAGER_URL: alertmanager.url },
    publicUrl: () => "http://bosun.example.internal",
  });
  daemon = built.daemon;
  logs = built.logs;
  await daemon.start();
  await settle();
}, 900_000);

afterAll(async () => {
  await daemon?.stop(10_000);
  await git.close();
  await alertmanager.stop();
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings"]);
  await fs.rm(work, { recursive: true, force: true });
});

describe("drift alerts through Alertmanager", () => {
  it("fires one alert with the cluster and the diff for a hand edit, keeps it one, and resolves it when undone", async () => {
    const running = daemon as Daemon;
    expect(running.status().clusters.find((c) => c.name === "alpha")?.phase).toBe("in-sync");
    await alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "edited-by-hand" }] });
    running.checkDrift("test");
    await settle();
    const firing = await waitFor("the drift alert in Alertmanager", async () => ((await driftAlerts()).length > 0 ? driftAlerts() : undefined), 30_000);
    expect(firing).toHaveLength(1);
    expect(firing[0]?.labels).toMatchObject({ alertname: "BosunDrift", cluster: "alpha", wave: "first", fleet: "daemon-test" });
    expect(firing[0]?.annotations.diff).toContain("edited-by-hand");
    expect(firing[0]?.annotations.plan_url).toBe("http://bosun.example.internal/clusters/alpha");

    for (let tick = 0; tick < 5; tick += 1) {
      running.checkDrift("test");
      await settle();
    }
    expect(await driftAlerts()).toHaveLength(1);

    await alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "1" }] });
    running.checkDrift("test");
    await settle();
    await waitFor("the drift alert resolved in Alertmanager", async () => ((await driftAlerts()).length === 0 ? true : undefined), 60_000);
    // The receiver's URL (a secret of the environment) is in no log line.
    expect(logs.join("")).not.toContain(alertmanager.url);
  });
});
