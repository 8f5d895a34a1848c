/**
 * A plain HTTP server on 127.0.0.1 standing in for an internal address (a metadata service, an internal
 * chart mirror): it records every request it receives, so a test proves bosun and the programs it runs
 * fetched nothing from it. Optionally it serves a directory (a chart repository), for the cases where the
 * operator allowed internal hosts and a fetch is expected.
 */
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";

/** A running recording server. */
export interface RecordingServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Method and URL of every request received, in order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Starts the server; with `serveDir`, files of that directory are served by name (else every request gets 404). */
export async function startRecordingServer(serveDir?: string): Promise<RecordingServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? "?"} ${req.url ?? ""}`);
    void (async () => {
      const name = path.basename(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
      const body = serveDir === undefined || name === "" ? undefined : await fs.readFile(path.join(serveDir, name)).catch(() => undefined);
      res.writeHead(body === undefined ? 404 : 200);
      res.end(body ?? "not found\n");
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

