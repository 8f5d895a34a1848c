/**
 * Plain authenticated GETs against an API server's non-resource paths (`/readyz`, `/version`), with the
 * kubeconfig's CA and credentials and a hard timeout.
 */
import https from "node:https";
import type * as k8s from "@kubernetes/client-node";

/** Status code and body of one GET. */
export interface RawResponse {
  status: number;
  body: string;
}

/** GETs `path` on the current cluster of `kc`; rejects on network errors and after `timeoutMs`. */
export async function rawGet(kc: k8s.KubeConfig, path: string, timeoutMs: number): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { method: "GET", timeout: timeoutMs, headers: {} };
  await kc.applyToHTTPSOptions(options);
  return new Promise<RawResponse>((resolve, reject) => {
    const request = https.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`GET ${url.href} timed out after ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end();
  });
}
