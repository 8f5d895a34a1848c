/**
 * Kubeconfig files for the sandbox: one with a context per cluster, named after the cluster (what users and
 * bosun read), and one per cluster for the sandbox's own components. Each carries the sandbox CA; none
 * skips TLS verification.
 */
import { stringify } from "yaml";

/** How to reach one cluster as its admin. */
export interface KubeconfigEntry {
  cluster: string;
  server: string;
  token: string;
}

/** Renders a kubeconfig with one context per entry; the first entry is the current context. */
export function renderKubeconfig(caPem: string, entries: readonly KubeconfigEntry[]): string {
  const caData = Buffer.from(caPem).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    "current-context": entries[0]?.cluster ?? "",
    clusters: entries.map((e) => ({ name: e.cluster, cluster: { server: e.server, "certificate-authority-data": caData } })),
    users: entries.map((e) => ({ name: `${e.cluster}-admin`, user: { token: e.token } })),
    contexts: entries.map((e) => ({ name: e.cluster, context: { cluster: e.cluster, user: `${e.cluster}-admin` } })),
  };
  return stringify(config, { lineWidth: 0 });
}

/** The static token file of one API server: a single admin in `system:masters`. */
export function renderTokenFile(token: string): string {
  return `${token},bosun-sandbox-admin,bosun-sandbox-admin,"system:masters"\n`;
}
