/**
 * Fetching a pinned chart from a real HTTPS server on 127.0.0.1 (certificate from a test CA made by
 * `openssl`, basic auth): the configured CA and credentials work and each missing one fails with a message
 * that says what to configure; the archive is verified against the index's digest and cached by it, so a
 * second run downloads only a 304 for the index; credentials never follow a redirect to another origin.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseChartCredentials } from "../../../src/source/chart-credentials.js";
import { ChartFetcher } from "../../../src/source/chart-fetch.js";
import { ChartFetchError } from "../../../src/source/chart-fetch-error.js";
import { createTestCa, type TestCa } from "../../support/tls.js";

const PASSWORD = "s3cret-chart-password";
let ca: TestCa;
let server: https.Server;
let other: http.Server;
let base: string;
let otherBase: string;
let archive = Buffer.from("chart archive v1");
let indexDigest = sha(archive);
let indexPadding = "";
const requests: { path: string; authorized: boolean; status: number }[] = [];
const otherRequests: { path: string; authorization: string | undefined }[] = [];
let cacheDir: string;

function sha(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function index(): string {
  return `apiVersion: v1\nentries:\n  demo:\n  - name: demo\n    version: 1.0.0\n    digest: ${indexDigest}\n    urls: [demo-1.0.0.tgz]\n  - name: demo\n    version: 2.0.0\n    urls: [${otherBase}/demo-2.0.0.tgz]\n${indexPadding}`;
}

beforeAll(async () => {
  ca = await createTestCa();
  server = https.createServer({ cert: ca.pem.serverCert, key: ca.pem.serverKey }, (req, res) => {
    const authorized = req.headers.authorization === `Basic ${Buffer.from(`bosun:${PASSWORD}`).toString("base64")}`;
    const answer = (status: number, body = "", headers: Record<string, string> = {}): void => {
      requests.push({ path: req.url ?? "", authorized, status });
      res.writeHead(status, headers);
      res.end(body);
    };
    if (!authorized) { answer(401, "", { "www-authenticate": 'Basic realm="charts"' }); return; }
    if (req.url === "/charts/index.yaml") {
      const text = index();
      const etag = `"${sha(Buffer.from(text)).slice(0, 16)}"`;
      if (req.headers["if-none-match"] === etag) { answer(304); return; }
      answer(200, text, { etag, "content-type": "application/yaml" }); return;
    }
    if (req.url === "/charts/demo-1.0.0.tgz") {
      requests.push({ path: req.url, authorized, status: 200 });
      res.writeHead(200, { "content-type": "application/gzip" });
      res.end(archive);
      return;
    }
    if (req.url === "/moved/index.yaml") { answer(302, "", { location: `${otherBase}/index.yaml` }); return; }
    answer(404);
  });
  other = http.createServer((req, res) => {
    otherRequests.push({ path: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  other.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => other.close(resolve));
  await ca.remove();
});

beforeEach(async () => {
  requests.length = 0;
  otherRequests.length = 0;
  archive = Buffer.from("chart archive v1");
  indexDigest = sha(archive);
  indexPadding = "";
  cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-chart-cache-"));
  return () => fs.rm(cacheDir, { recursive: true, force: true });
});

function fetcher(entry: string, extra: { allowInternal?: boolean; maxIndexBytes?: number } = {}): ChartFetcher {
  const credentials = parseChartCredentials(`repositories:\n  - url: ${base}/\n${entry}`, "creds.yaml");
  return new ChartFetcher({
    credentials,
    env: { CHARTS_PASSWORD: PASSWORD, WRONG_PASSWORD: "not-it" },
    allowInternal: extra.allowInternal ?? true,
    cacheDir,
    timeoutMs: 10_000,
    ...(extra.maxIndexBytes === undefined ? {} : { indexLimits: { maxBytes: extra.maxIndexBytes, maxNodes: 100_000 } }),
  });
}

const FULL = `    username: bosun\n    passwordEnv: CHARTS_PASSWORD\n    caFile: CA\n`;

async function failure(promise: Promise<unknown>): Promise<ChartFetchError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ChartFetchError);
    expect((error as Error).message).not.toContain(PASSWORD);
    return error as ChartFetchError;
  }
  throw new Error("the fetch succeeded");
}

describe("ChartFetcher against an HTTPS repository with a private CA and basic auth", () => {
  it("fetches with the configured CA and credentials, verifies the digest and caches the archive by it", async () => {
    const first = fetcher(FULL.replace("CA", ca.caFile));
    const got = await first.fetch(`${base}/charts`, "demo", "1.0.0");
    expect(got.digest).toBe(sha(archive));
    expect(got.file).toBe(path.join(cacheDir, `sha256-${got.digest}.tgz`));
    expect(await fs.readFile(got.file)).toEqual(archive);
    // The same fetcher asks once, however many clusters want the chart.
    await Promise.all([first.fetch(`${base}/charts`, "demo", "1.0.0"), first.fetch(`${base}/charts/`, "demo", "1.0.0")]);
    expect(requests.map((r) => `${r.status} ${r.path}`)).toEqual(["200 /charts/index.yaml", "200 /charts/demo-1.0.0.tgz"]);

    // A later run (a second plan) sends a conditional request for the index and downloads nothing.
    requests.length = 0;
    const second = await fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0");
    expect(second.digest).toBe(got.digest);
    expect(requests.map((r) => `${r.status} ${r.path}`)).toEqual(["304 /charts/index.yaml"]);
  });

  it("sees a re-tagged chart as a new digest, and refuses an archive that is not what the index says", async () => {
    const before = await fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0");
    archive = Buffer.from("chart archive v1, pushed again");
    indexDigest = sha(archive);
    const after = await fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0");
    expect(after.digest).not.toBe(before.digest);
    indexDigest = sha(Buffer.from("what the index claims"));
    const error = await failure(fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(error.failure).toBe("digest-mismatch");
    expect(error.message).toMatch(/has digest sha256:[0-9a-f]{64}, but the index says sha256:[0-9a-f]{64}/);
  });

  it("without the CA: a TLS error that says to configure caFile", async () => {
    const error = await failure(fetcher(`    username: bosun\n    passwordEnv: CHARTS_PASSWORD\n`).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(error.failure).toBe("tls");
    expect(error.message).toMatch(/^the index at https:\/\/127\.0\.0\.1:\d+\/charts\/index\.yaml: TLS: the server's certificate is not signed by a trusted CA \(\w+\); add the repository's CA bundle as caFile/);
  });

  it("without credentials, or with wrong ones: 401 with what to do", async () => {
    const none = await failure(new ChartFetcher({ credentials: parseChartCredentials(`repositories:\n  - url: ${base}\n    caFile: ${ca.caFile}\n`, "c"), allowInternal: true, cacheDir }).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(none.failure).toBe("unauthorized");
    expect(none.message).toMatch(/the repository needs credentials \(401 Unauthorized\); configure them in the chart credentials/);
    const wrong = await failure(fetcher(`    username: bosun\n    passwordEnv: WRONG_PASSWORD\n    caFile: ${ca.caFile}\n`).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(wrong.message).toMatch(/refused the configured credentials \(401 Unauthorized\)/);
  });

  it("names the missing chart or version, a repository that is down, and an index over the limit", async () => {
    const full = FULL.replace("CA", ca.caFile);
    expect((await failure(fetcher(full).fetch(`${base}/charts`, "nope", "1.0.0"))).message).toMatch(/: the repository has no chart named nope$/);
    expect((await failure(fetcher(full).fetch(`${base}/charts`, "demo", "3.0.0"))).message).toMatch(/not version 3\.0\.0 \(it has 1\.0\.0, 2\.0\.0\)/);
    const down = await failure(fetcher(full).fetch("https://127.0.0.1:1/charts", "demo", "1.0.0"));
    expect(down.failure).toBe("unreachable");
    expect(down.message).toMatch(/the repository is unreachable \(ECONNREFUSED\)/);
    indexPadding = `# ${"x".repeat(4096)}\n`;
    const big = await failure(fetcher(full, { maxIndexBytes: 2048 }).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(big.failure).toBe("too-large");
  });

  it("resolves a host name, refusing it when it resolves to an internal address unless allowed", async () => {
    const byName = base.replace("127.0.0.1", "localhost");
    const credentials = parseChartCredentials(`repositories:\n  - url: ${byName}\n    username: bosun\n    passwordEnv: CHARTS_PASSWORD\n    caFile: ${ca.caFile}\n`, "c");
    const allowed = new ChartFetcher({ credentials, env: { CHARTS_PASSWORD: PASSWORD }, allowInternal: true, cacheDir });
    expect((await allowed.fetch(`${byName}/charts`, "demo", "1.0.0")).digest).toBe(sha(archive));
    requests.length = 0;
    const refused = await failure(new ChartFetcher({ credentials, env: { CHARTS_PASSWORD: PASSWORD }, allowInternal: false, cacheDir }).fetch(`${byName}/charts`, "demo", "1.0.0"));
    expect(refused.failure).toBe("refused");
    expect(refused.message).toMatch(/the host localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(requests).toEqual([]);
  });

  it("downloads again when a cached archive does not match its name", async () => {
    const first = await fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0");
    await fs.writeFile(first.file, "truncated");
    requests.length = 0;
    const again = await fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "1.0.0");
    expect(await fs.readFile(again.file)).toEqual(archive);
    expect(requests.map((r) => r.path)).toContain("/charts/demo-1.0.0.tgz");
  });

  it("refuses internal addresses unless the operator allows them", async () => {
    const error = await failure(fetcher(FULL.replace("CA", ca.caFile), { allowInternal: false }).fetch(`${base}/charts`, "demo", "1.0.0"));
    expect(error.failure).toBe("refused");
    expect(error.message).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(requests).toEqual([]);
  });

  it("sends credentials only under their prefix: not with a redirect or a download URL on another origin", async () => {
    await failure(fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/moved`, "demo", "1.0.0"));
    await failure(fetcher(FULL.replace("CA", ca.caFile)).fetch(`${base}/charts`, "demo", "2.0.0"));
    expect(otherRequests.map((r) => r.path)).toEqual(["/index.yaml", "/demo-2.0.0.tgz"]);
    expect(otherRequests.every((r) => r.authorization === undefined)).toBe(true);
  });
});
