/**
 * A real OCI registry for tests: the CNCF distribution registry (built from the Go module proxy by
 * `bosun sandbox binaries --for test`), on 127.0.0.1 with a certificate from a test CA (`tls.ts`) and
 * htpasswd basic auth, its storage in a directory of the test's, stopped by pid (only while its command
 * line still names that directory). Charts are pushed by the real `helm push`, from a helm home of the
 * test's own. The registry's access log is read back to count what a plan pulled.
 */
import fs from "node:fs/promises";
import https from "node:https";
import path from "node:path";
import bcrypt from "bcryptjs";
import { startDetached, stopDetached } from "../../src/tools/detached.js";
import { helmPackage, helmPush, writeHelmHomeLogins } from "../../src/tools/helm.js";
import { freePort } from "./net.js";
import { eventually } from "./sandbox.js";
import type { TestCa } from "./tls.js";

/** A running registry. */
export interface OciRegistry {
  /** `oci://127.0.0.1:PORT/charts`: the chart path the tests push to and fleets name as `repo`. */
  repo: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Packages `chartDir` and pushes it (again: a re-push of the same version moves the tag). */
  push: (chartDir: string) => Promise<void>;
  /** Pulls of `chart` at `version` so far: its manifest fetched by tag (`GET …/manifests/<version>` answered 200), from the access log. */
  pulls: (chart: string, version: string) => Promise<number>;
  stop: () => Promise<void>;
}

/** Starts the registry with its files under `dir` (which must exist); resolves once it answers. */
export async function startOciRegistry(dir: string, options: { registry: string; helm: string; ca: TestCa; username: string; password: string }): Promise<OciRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${String(port)}`;
  const htpasswd = path.join(dir, "htpasswd");
  await fs.writeFile(htpasswd, `${options.username}:${bcrypt.hashSync(options.password, 10)}\n`, { mode: 0o600 });
  const config = path.join(dir, "registry.yml");
  await fs.writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: info, accesslog: { disabled: false } }",
      `storage: { filesystem: { rootdirectory: ${path.join(dir, "storage")} }, delete: { enabled: true } }`,
      `http: { addr: "${host}", tls: { certificate: ${options.ca.serverCert}, key: ${options.ca.serverKey} } }`,
      `auth: { htpasswd: { realm: bosun-test, path: ${htpasswd} } }`,
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "registry.log");
  const pid = await startDetached({ tool: "registry", file: options.registry, args: ["serve", config], logFile });
  const stop = async (): Promise<void> => {
    await stopDetached(pid, dir);
  };
  try {
    await eventually("the OCI registry answers (see registry.log in the test's directory)", async () => ((await v2Status(host, options.ca.pem.ca)) === 401 ? true : undefined), 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  // The pushing side has a helm home of its own, so that the login it needs touches nothing else.
  const home = path.join(dir, "pusher-helm");
  const packages = path.join(dir, "packages");
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  const tls = { caFile: options.ca.caFile };
  const helmOptions = { helm: options.helm, home };
  await writeHelmHomeLogins(home, new Map([[host, { username: options.username, password: options.password }]]));
  const repo = `oci://${host}/charts`;
  return {
    repo,
    host,
    push: async (chartDir) => {
      await fs.rm(packages, { recursive: true, force: true });
      await fs.mkdir(packages);
      const archive = await helmPackage(chartDir, packages, { helm: options.helm });
      await helmPush(archive, repo, tls, helmOptions);
    },
    pulls: async (chart, version) => {
      const log = await fs.readFile(logFile, "utf8");
      const request = `"GET /v2/charts/${chart}/manifests/${version} HTTP/`;
      return log.split("\n").filter((line) => line.includes(request) && / HTTP\/[\d.]+" 200 /.test(line)).length;
    },
    stop,
  };
}

/** The status of `GET /v2/` (401 from a registry behind auth), or undefined while it does not answer. */
function v2Status(host: string, ca: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = https.get(`https://${host}/v2/`, { ca, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", () => {
      resolve(undefined);
    });
    req.on("timeout", () => {
      req.destroy();
    });
  });
}
