/**
 * A real Alertmanager for tests: Debian's `prometheus-alertmanager` (installed when missing), started on
 * 127.0.0.1 with a do-nothing receiver, clustering off, its config and storage in a directory of the
 * test's, and stopped by pid (only while its command line still names that directory).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { startDetached, stopDetached } from "../../src/tools/detached.js";
import { freePort } from "./net.js";
import { ensureDebianPackage } from "./packages.js";
import { eventually } from "./sandbox.js";

/** A running Alertmanager. */
export interface Alertmanager {
  url: string;
  stop: () => Promise<void>;
}

/** One alert as `GET /api/v2/alerts` returns it. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}


/** Starts Alertmanager with its files under `dir` (which must exist); resolves once it is ready. */
export async function startAlertmanager(dir: string): Promise<Alertmanager> {
  const binary = await ensureDebianPackage("prometheus-alertmanager", "prometheus-alertmanager");
  const port = await freePort();
  const config = path.join(dir, "alertmanager.yml");
  // One do-nothing receiver: tests read alerts from the API, Alertmanager sends nothing anywhere.
  await fs.writeFile(config, "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n");
  await fs.mkdir(path.join(dir, "am-data"), { recursive: true });
  const pid = await startDetached({
    tool: "prometheus-alertmanager",
    file: binary,
    args: [`--config.file=${config}`, `--storage.path=${path.join(dir, "am-data")}`, `--web.listen-address=127.0.0.1:${String(port)}`, "--cluster.listen-address="],
    logFile: path.join(dir, "alertmanager.log"),
  });
  const url = `http://127.0.0.1:${String(port)}`;
  await eventually("Alertmanager ready (see alertmanager.log in the test's directory)", async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 60_000);
  return { url, stop: async () => { await stopDetached(pid, dir); } };
}

/** The alerts Alertmanager holds now (active ones; a resolved alert drops out once its endsAt passed). */
export async function alertsIn(alertmanager: Alertmanager): Promise<GettableAlert[]> {
  const response = await fetch(`${alertmanager.url}/api/v2/alerts`);
  if (response.status !== 200) throw new Error(`GET /api/v2/alerts: ${String(response.status)}`);
  return (await response.json()) as GettableAlert[];
}
