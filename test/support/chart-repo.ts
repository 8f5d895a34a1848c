/**
 * A Helm chart repository on 127.0.0.1 for tests: charts packaged with the real `helm package`, indexed
 * with `helm repo index`, and served by a static server — plain HTTP, or HTTPS with a certificate from a
 * test CA (`tls.ts`) and basic auth, as a private repository is. Every request is recorded (path, status,
 * whether it was authorised) so tests can count what a plan fetched; the index carries an ETag.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { helmPackage, helmRepoIndex } from "../../src/tools/helm.js";

/** One request the repository answered. */
export interface ChartRepoRequest {
  path: string;
  status: number;
}

/** A running chart repository. */
export interface ChartRepo {
  url: string;
  dir: string;
  requests: ChartRepoRequest[];
  /** Packages `chartDir` again (same version, new content: a re-published chart) and re-indexes. */
  republish: (chartDir: string) => Promise<void>;
  close: () => Promise<void>;
}

/** How the repository is served. */
export interface ChartRepoOptions {
  tls?: { cert: string; key: string };
  basicAuth?: { username: string; password: string };
}

/** Packages every chart directory given and serves the result; call `close()` in an afterAll. */
export async function startChartRepo(chartDirs: readonly string[], helm: string, options: ChartRepoOptions = {}): Promise<ChartRepo> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-charts-"));
  const requests: ChartRepoRequest[] = [];
  const expected = options.basicAuth ? `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString("base64")}` : undefined;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const record = (status: number): void => {
      requests.push({ path: new URL(req.url ?? "/", "http://127.0.0.1").pathname, status });
    };
    if (expected !== undefined && req.headers.authorization !== expected) {
      record(401);
      res.writeHead(401, { "www-authenticate": 'Basic realm="charts"' });
      res.end();
      return;
    }
    void serveFile(dir, req, res, record);
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  for (const chart of chartDirs) await helmPackage(chart, dir, { helm });
  await helmRepoIndex(dir, url, { helm });
  return {
    url,
    dir,
    requests,
    republish: async (chartDir) => {
      await helmPackage(chartDir, dir, { helm });
      await fs.rm(path.join(dir, "index.yaml"), { force: true });
      await helmRepoIndex(dir, url, { helm });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function serveFile(dir: string, req: http.IncomingMessage, res: http.ServerResponse, record: (status: number) => void): Promise<void> {
  const name = path.basename(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
  try {
    const body = await fs.readFile(path.join(dir, name));
    const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 20)}"`;
    if (req.headers["if-none-match"] === etag) {
      record(304);
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    record(200);
    res.writeHead(200, { "Content-Type": name.endsWith(".yaml") ? "application/yaml" : "application/gzip", etag });
    res.end(body);
  } catch {
    record(404);
    res.writeHead(404);
    res.end("not found\n");
  }
}
