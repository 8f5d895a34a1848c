/**
 * A Helm chart repository on 127.0.0.1 for tests: charts packaged with the real `helm package`, indexed
 * with `helm repo index`, and served by a static HTTP server.
 */
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { helmPackage, helmRepoIndex } from "../../src/tools/helm.js";

/** A running chart repository. */
export interface ChartRepo {
  url: string;
  dir: string;
  close: () => Promise<void>;
}

/** Packages every chart directory given and serves the result; call `close()` in an afterAll. */
export async function startChartRepo(chartDirs: readonly string[], helm: string): Promise<ChartRepo> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-charts-"));
  const server = http.createServer((req, res) => {
    void serveFile(dir, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  for (const chart of chartDirs) await helmPackage(chart, dir, { helm });
  await helmRepoIndex(dir, url, { helm });
  return {
    url,
    dir,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function serveFile(dir: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const name = path.basename(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
  try {
    const body = await fs.readFile(path.join(dir, name));
    res.writeHead(200, { "Content-Type": name.endsWith(".yaml") ? "application/yaml" : "application/gzip" });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end("not found\n");
  }
}
