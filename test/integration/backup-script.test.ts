/**
 * The etcd backup script (`etcdBackupScript`, the text the backup CronJob runs) run for real on this
 * machine: a private etcd 3.6 with TLS client authentication and a PKI laid out like kubeadm's
 * `/etc/kubernetes/pki/etcd`, the real etcdctl and etcdutl on PATH, the script under dash (busybox sh
 * in the cluster; plain `sh` where dash is missing). A snapshot it keeps must restore into a new data
 * directory that a second etcd serves the keys from; a snapshot with one flipped byte, an etcd that is
 * down or refuses the client certificate must make it fail and leave nothing behind.
 *
 * To run it as the pod does, under busybox with nothing but busybox's applets and the etcd tools on PATH,
 * set BOSUN_TEST_BUSYBOX to a busybox binary.
 */
import { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SNAPSHOT_PATTERN, etcdBackupScript, shellQuote, type EtcdClientOptions } from "../../src/backup/template.js";
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from "../../src/sandbox/pki.js";
import { freePorts } from "../../src/sandbox/ports.js";
import { eventually, sharedSandbox } from "../support/sandbox.js";

const BUSYBOX = process.env.BOSUN_TEST_BUSYBOX;
/** busybox sh when asked for, else dash when the machine has it (closest to busybox sh), else the system sh. */
const SHELL = BUSYBOX ? [BUSYBOX, "sh"] : [await firstExecutable(["/usr/bin/dash", "/bin/dash"], "sh")];
const PREFIX = "/bosun-backup-test/";

interface Etcd {
  process: ResultPromise;
  endpoint: string;
  log: string;
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let tmp: string;
let etcdBin: string;
let etcdctlBin: string;
let etcdutlBin: string;
/** PATH directory with `etcdctl` and `etcdutl` (symlinks to the cached, versioned binaries). */
let binDir: string;
/** Like `binDir`, but its `etcdctl` flips one byte of every file `snapshot save` writes. */
let corruptingBinDir: string;
/** The PATH directories after the etcd tools: busybox's applets, or the system's. */
let utilities = "/usr/bin:/bin";
let pki: string;
let source: Etcd;
let client: EtcdClientOptions;
/** The keys written before the first snapshot, and their values. */
const written = new Map<string, string>();
const started: Etcd[] = [];

beforeAll(async () => {
  const binaries = sharedSandbox().binaries;
  if (!binaries.etcd || !binaries.etcdctl || !binaries.etcdutl) throw new Error("the shared sandbox did not provide etcd, etcdctl and etcdutl");
  [etcdBin, etcdctlBin, etcdutlBin] = [binaries.etcd, binaries.etcdctl, binaries.etcdutl];
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-backup-script-"));

  if (BUSYBOX) {
    utilities = path.join(tmp, "busybox");
    await fs.mkdir(utilities);
    await execa(BUSYBOX, ["--install", "-s", utilities]);
  }
  binDir = path.join(tmp, "bin");
  await fs.mkdir(binDir);
  await fs.symlink(etcdctlBin, path.join(binDir, "etcdctl"));
  await fs.symlink(etcdutlBin, path.join(binDir, "etcdutl"));

  // The corrupting etcdctl: runs the real one, then, after `snapshot save`, flips a byte of the saved file
  // (its last argument) with flip.mjs, which appends the offset it flipped to flips.log.
  corruptingBinDir = path.join(tmp, "bin-corrupting");
  await fs.mkdir(corruptingBinDir);
  await fs.symlink(etcdutlBin, path.join(corruptingBinDir, "etcdutl"));
  const flip = path.join(tmp, "flip.mjs");
  await fs.writeFile(
    flip,
    `import fs from "node:fs";
const [file, mode, log] = process.argv.slice(2);
const bytes = fs.readFileSync(file);
const marker = process.env.FLIP_MARKER ?? "";
const at = mode === "last" ? bytes.length - 1 : mode === "marker" ? bytes.indexOf(marker) : Math.floor(bytes.length / 2);
if (at < 0) { process.stderr.write("flip.mjs: marker not found\\n"); process.exit(3); }
bytes[at] ^= 0xff;
fs.writeFileSync(file, bytes);
fs.appendFileSync(log, at + " of " + bytes.length + "\\n");
`,
  );
  await fs.writeFile(
    path.join(corruptingBinDir, "etcdctl"),
    `#!/bin/sh
${shellQuote(etcdctlBin)} "$@" || exit
case " $* " in *" snapshot save "*) ;; *) exit 0 ;; esac
for last do :; done
exec ${shellQuote(process.execPath)} ${shellQuote(flip)} "$last" "\${FLIP_MODE:-middle}" ${shellQuote(path.join(tmp, "flips.log"))}
`,
    { mode: 0o755 },
  );

  // A CA and certificates laid out like kubeadm's /etc/kubernetes/pki/etcd.
  pki = path.join(tmp, "pki", "etcd");
  const ca = await createCertificateAuthority("etcd-ca");
  await writePki(pki, {
    ca,
    server: await issueCertificate(ca, { commonName: "backup-test-etcd", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], usage: "both" }),
    client: await issueCertificate(ca, { commonName: "kube-etcd-healthcheck-client", usage: "client" }),
  });

  const [clientPort, peerPort] = await twoPorts();
  source = await startEtcd("source", path.join(tmp, "source-data"), clientPort, peerPort, [
    `--cert-file=${pki}/server.crt`,
    `--key-file=${pki}/server.key`,
    `--trusted-ca-file=${pki}/ca.crt`,
    "--client-cert-auth",
  ]);
  client = {
    endpoint: source.endpoint,
    caFile: `${pki}/ca.crt`,
    certFile: `${pki}/healthcheck-client.crt`,
    keyFile: `${pki}/healthcheck-client.key`,
  };

  for (let i = 0; i < 20; i += 1) written.set(`${PREFIX}key-${String(i).padStart(2, "0")}`, `value ${i} ${Math.random().toString(36).slice(2)}`);
  // One value larger than a page, so the database spans many pages.
  written.set(`${PREFIX}large`, "x".repeat(20_000));
  // A value whose bytes the corruption test flips (it sits in the key bucket, where status reads it).
  written.set(`${PREFIX}marker`, "FLIP-ME-0123456789");
  for (const [key, value] of written) await etcdctl(client, "put", key, value);
}, 180_000);

afterAll(async () => {
  await Promise.all([...started].map(stopEtcd));
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe(`etcd backup script under ${SHELL.map((p) => path.basename(p)).join(" ")}`, () => {
  let firstSnapshot: string;

  it("saves and verifies one snapshot named by its UTC second, and leaves no temporary file", async () => {
    const dest = await destination("first");
    const before = Math.floor(Date.now() / 1000) * 1000;
    // As the pre-upgrade Job asks: the snapshot's path written to the file named by SNAPSHOT_REPORT.
    const report = path.join(tmp, "termination-log");
    const run = await runScript(etcdBackupScript(3, dest, client), binDir, { SNAPSHOT_REPORT: report });
    const after = Date.now();
    expect(run.exitCode, run.stderr).toBe(0);
    const files = await fs.readdir(dest);
    expect(files).toHaveLength(1);
    const [name] = files as [string];
    expect(name).toMatch(SNAPSHOT_PATTERN);
    const taken = stampTime(name);
    expect(taken).toBeGreaterThanOrEqual(before);
    expect(taken).toBeLessThanOrEqual(after);
    expect(run.stdout).toContain(`saved and verified ${dest}/${name}`);
    expect(await fs.readFile(report, "utf8")).toBe(`${dest}/${name}`);
    firstSnapshot = path.join(dest, name);
    // Taken after the snapshot, so it must not be in the restored member.
    await etcdctl(client, "put", `${PREFIX}after-snapshot`, "later");
  });

  it("restores into a new data directory that a second etcd serves the keys from", async () => {
    const [clientPort, peerPort] = await twoPorts();
    const dataDir = path.join(tmp, "restored-data");
    const peer = `http://127.0.0.1:${peerPort}`;
    await execa(etcdutlBin, ["snapshot", "restore", firstSnapshot, `--data-dir=${dataDir}`, "--name=restored", `--initial-cluster=restored=${peer}`, `--initial-advertise-peer-urls=${peer}`]);
    const restored = await startEtcd("restored", dataDir, clientPort, peerPort, []);
    const read = await readPrefix({ endpoint: restored.endpoint });
    expect(read).toEqual(written);
    expect((await readPrefix(client)).size).toBe(written.size + 1);
    await stopEtcd(restored);
  });

  it("keeps only the newest `retain` snapshots, also for runs within one second", async () => {
    const dest = await destination("retain");
    const names: string[] = [];
    // Back to back: a run takes well under a second, so some of these share their starting second.
    for (let i = 0; i < 4; i += 1) {
      const run = await runScript(etcdBackupScript(2, dest, client), binDir);
      expect(run.exitCode, run.stderr).toBe(0);
      const saved = /saved and verified (\S+)/.exec(run.stdout)?.[1] ?? "";
      expect(saved).not.toBe("");
      names.push(path.basename(saved));
    }
    expect(new Set(names).size).toBe(4);
    expect([...names].sort()).toEqual(names);
    expect((await fs.readdir(dest)).sort()).toEqual(names.slice(2));
  });

  it("never takes a name a finished or running snapshot of the same second holds", async () => {
    const dest = await destination("collision");
    // Finished snapshots of this second and the second after next, and a run in progress in between.
    const now = Math.floor(Date.now() / 1000);
    const taken = [`${stamp(now)}.db`, `${stamp(now + 1)}.db.tmp`, `${stamp(now + 2)}.db`];
    for (const name of taken) await fs.writeFile(path.join(dest, name), `not mine: ${name}`);
    const run = await runScript(etcdBackupScript(10, dest, client), binDir);
    expect(run.exitCode, run.stderr).toBe(0);
    for (const name of taken) expect((await fs.readFile(path.join(dest, name), "utf8")).slice(0, 80)).toBe(`not mine: ${name}`);
    const mine = (await fs.readdir(dest)).filter((f) => !taken.includes(f));
    expect(mine).toHaveLength(1);
    expect(stampTime(mine[0] ?? "")).toBeGreaterThan((now + 2) * 1000);
  });

  it("gives two runs started together two snapshots, both verified", async () => {
    const dest = await destination("concurrent");
    const runs = await Promise.all([0, 1].map(() => runScript(etcdBackupScript(10, dest, client), binDir)));
    for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
    const files = (await fs.readdir(dest)).sort();
    expect(files).toHaveLength(2);
    for (const file of files) {
      expect(file).toMatch(SNAPSHOT_PATTERN);
      await execa(etcdutlBin, ["snapshot", "status", path.join(dest, file)]);
    }
  });

  // `etcdutl snapshot status` checks only the bbolt page structure (and bbolt falls back to the other meta
  // page when one is damaged); it never compares the sha256 etcd appends to a snapshot, so most single
  // flipped bytes pass it. The restore does compare it, which is why the script also restores.
  it("etcdutl snapshot status alone passes a snapshot with a flipped byte in a value; the restore's hash check fails it", async () => {
    const corrupt = path.join(tmp, "corrupt-by-hand.db");
    const bytes = await fs.readFile(firstSnapshot);
    const at = bytes.indexOf("FLIP-ME-0123456789");
    expect(at).toBeGreaterThan(0);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await fs.writeFile(corrupt, bytes);
    const status = await execa(etcdutlBin, ["snapshot", "status", corrupt], { reject: false });
    expect(status.exitCode, status.stderr).toBe(0);
    const restore = await execa(etcdutlBin, ["snapshot", "restore", corrupt, `--data-dir=${path.join(tmp, "corrupt-restore")}`], { reject: false });
    expect(restore.exitCode).not.toBe(0);
    expect(restore.stderr).toMatch(/expected sha256/);
  });

  it.each([
    ["the middle of the file", "middle"],
    ["a stored value", "marker"],
    ["the appended sha256", "last"],
  ])("fails on a snapshot with one byte flipped in %s, and deletes it", async (_where, mode) => {
    const dest = await destination(`corrupt-${mode}`);
    const flips = path.join(tmp, "flips.log");
    await fs.rm(flips, { force: true });
    const run = await runScript(etcdBackupScript(3, dest, client), corruptingBinDir, { FLIP_MODE: mode, FLIP_MARKER: "FLIP-ME-0123456789" });
    // The byte really was flipped, once.
    expect((await fs.readFile(flips, "utf8")).trim().split("\n")).toHaveLength(1);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain("the snapshot failed verification");
    expect(run.stderr).toMatch(/expected sha256/);
    expect(await fs.readdir(dest)).toEqual([]);
  });

  it("fails when etcd is down (its health check, not a hang), and leaves nothing behind", async () => {
    const dest = await destination("down");
    const [closed] = await freePorts(1);
    const run = await runScript(etcdBackupScript(3, dest, { ...client, endpoint: `https://127.0.0.1:${closed}` }), binDir);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain(`the etcd member at https://127.0.0.1:${closed} is not healthy; no snapshot taken`);
    // A hang would be killed by runScript's timeout (exit code -1, none of these words): the script gave up itself.
    expect(run.exitCode).not.toBe(-1);
    expect(await fs.readdir(dest)).toEqual([]);
  });

  it("fails when etcd refuses the client certificate (one from another CA)", async () => {
    const dest = await destination("foreign-client");
    const other = await createCertificateAuthority("another-ca");
    const foreign = path.join(tmp, "pki-foreign");
    await writeKeyPair(foreign, "healthcheck-client", await issueCertificate(other, { commonName: "kube-etcd-healthcheck-client", usage: "client" }));
    const run = await runScript(
      etcdBackupScript(3, dest, { ...client, certFile: `${foreign}/healthcheck-client.crt`, keyFile: `${foreign}/healthcheck-client.key` }),
      binDir,
    );
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain("is not healthy; no snapshot taken");
    expect(await fs.readdir(dest)).toEqual([]);
  });
});

async function firstExecutable(candidates: readonly string[], fallback: string): Promise<string> {
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return fallback;
}

async function twoPorts(): Promise<[number, number]> {
  const [a, b] = await freePorts(2);
  if (a === undefined || b === undefined) throw new Error("freePorts returned fewer than 2 ports");
  return [a, b];
}

async function destination(name: string): Promise<string> {
  const dir = path.join(tmp, "snapshots", name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Runs the script as the pod does (`sh -c`), with only `bin` and the system directories on PATH. */
async function runScript(script: string, bin: string, env: Record<string, string> = {}): Promise<Run> {
  const start = Date.now();
  const [shell, ...shellArgs] = SHELL as [string, ...string[]];
  const result = await execa(shell, [...shellArgs, "-c", script], {
    env: { PATH: `${bin}:${utilities}`, HOME: tmp, ...env },
    extendEnv: false,
    reject: false,
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - start };
}

function stamp(seconds: number): string {
  return `etcd-snapshot-${new Date(seconds * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
}

/** The time in a snapshot's name, in ms since the epoch. */
function stampTime(name: string): number {
  const m = /^etcd-snapshot-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/.exec(name);
  if (!m) throw new Error(`not a snapshot name: ${name}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

async function writeKeyPair(dir: string, name: string, pair: KeyPairPem): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `${name}.crt`), pair.certPem);
  await fs.writeFile(path.join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
}

async function writePki(dir: string, pair: { ca: KeyPairPem; server: KeyPairPem; client: KeyPairPem }): Promise<void> {
  await writeKeyPair(dir, "ca", pair.ca);
  await writeKeyPair(dir, "server", pair.server);
  await writeKeyPair(dir, "healthcheck-client", pair.client);
}

/** Starts an etcd member on 127.0.0.1 and waits until it answers; TLS when `tls` holds its flags. */
async function startEtcd(name: string, dataDir: string, clientPort: number, peerPort: number, tls: string[]): Promise<Etcd> {
  const scheme = tls.length > 0 ? "https" : "http";
  const endpoint = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const log = path.join(tmp, `${name}-etcd.log`);
  const child = execa(
    etcdBin,
    [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${name}=${peer}`,
      "--log-level=warn",
      ...tls,
    ],
    { stdout: { file: log }, stderr: { file: log }, reject: false },
  );
  const etcd: Etcd = { process: child, endpoint, log };
  started.push(etcd);
  const options = scheme === "https" ? { endpoint, caFile: `${pki}/ca.crt`, certFile: `${pki}/healthcheck-client.crt`, keyFile: `${pki}/healthcheck-client.key` } : { endpoint };
  await eventually(`etcd ${name} healthy (log: ${log})`, async () => {
    if (child.exitCode !== null) throw new Error(`etcd ${name} exited: ${await fs.readFile(log, "utf8")}`);
    await etcdctl(options, "endpoint", "health");
    return true;
  }, 30_000);
  return etcd;
}

async function stopEtcd(etcd: Etcd): Promise<void> {
  const index = started.indexOf(etcd);
  if (index >= 0) started.splice(index, 1);
  if (etcd.process.exitCode === null) etcd.process.kill("SIGTERM");
  await etcd.process;
}

async function etcdctl(options: Partial<EtcdClientOptions> & { endpoint: string }, ...args: string[]): Promise<string> {
  const tls = options.caFile ? [`--cacert=${options.caFile}`, `--cert=${options.certFile ?? ""}`, `--key=${options.keyFile ?? ""}`] : [];
  const result = await execa(etcdctlBin, [`--endpoints=${options.endpoint}`, "--dial-timeout=2s", "--command-timeout=5s", ...tls, ...args], { timeout: 15_000 });
  return result.stdout;
}

async function readPrefix(options: Partial<EtcdClientOptions> & { endpoint: string }): Promise<Map<string, string>> {
  const out = JSON.parse(await etcdctl(options, "get", "--prefix", PREFIX, "--write-out=json")) as { kvs?: { key: string; value: string }[] };
  const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
  return new Map((out.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}
