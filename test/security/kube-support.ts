/**
 * Helpers of the kubeconfig, environment and API-error hostile cases: kubeconfig files with any user,
 * the sandbox cluster gamma's connection (for plugins that hand out its real token), and an HTTPS
 * stand-in for a hostile or buggy API server that echoes the request's credentials in its errors.
 */
import fs from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { loadKubeConfig } from "../../src/kube/config.js";
import { createCertificateAuthority, issueCertificate } from "../../src/sandbox/pki.js";
import { sharedSandbox } from "../support/sandbox.js";

/** How to reach one cluster: its server URL, CA (base64 PEM) and admin token. */
export interface ClusterAccess {
  server: string;
  caData: string;
  token: string;
}

/** Gamma's connection from the shared sandbox's kubeconfig. */
export function gammaAccess(): ClusterAccess {
  const kc = loadKubeConfig(sharedSandbox().kubeconfig, "gamma");
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster?.caData || !user?.token) throw new Error("the sandbox kubeconfig has no CA data or token for gamma");
  return { server: cluster.server, caData: cluster.caData, token: user.token };
}

/** A kubeconfig with one context `context` whose user is `user` (its `user:` map as written in a kubeconfig). */
export function kubeconfigYaml(access: Pick<ClusterAccess, "server" | "caData">, user: Record<string, unknown>, context = "hostile"): string {
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: context, cluster: { server: access.server, "certificate-authority-data": access.caData } }],
      users: [{ name: `${context}-user`, user }],
      contexts: [{ name: context, context: { cluster: context, user: `${context}-user` } }],
      "current-context": context,
    },
    { lineWidth: 0 },
  );
}

/** An exec user running `/bin/sh -c script`. */
export function execUser(script: string): Record<string, unknown> {
  return { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "/bin/sh", args: ["-c", script], interactiveMode: "Never" } };
}

/** A shell script printing an ExecCredential with `token` (after touching `marker`). */
export function credentialScript(marker: string, token: string): string {
  const credential = JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token } });
  return `touch '${marker}'; printf '%s' '${credential}'`;
}

/** A directory outside every fleet repository and bosun's cache, as an operator's kubeconfigs would be. */
export async function operatorDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-operator-"));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** What the echoing server answers: an HTTP status, and a Status object or (with `raw`) a plain body. */
export interface EchoAnswer {
  status: number;
  raw?: boolean;
}

/** A running echoing API server. */
export interface EchoServer {
  access: Pick<ClusterAccess, "server" | "caData">;
  /** The Authorization headers it received, in order. */
  received: string[];
  answer: EchoAnswer;
  close: () => Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 (certificate from its own CA) answering every request with `answer`; its
 * Status message quotes the request's `Authorization` header, as a hostile server or a careless proxy might.
 */
export async function startEchoServer(): Promise<EchoServer> {
  const ca = await createCertificateAuthority("bosun-echo-ca");
  const leaf = await issueCertificate(ca, { commonName: "echo", ipAddresses: ["127.0.0.1"], usage: "server" });
  const received: string[] = [];
  const state: { answer: EchoAnswer } = { answer: { status: 500 } };
  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const authorization = req.headers.authorization ?? "";
    received.push(authorization);
    const echo = `request refused; you sent Authorization: ${authorization} (${Buffer.from(authorization).toString("base64")})`;
    const { status, raw } = state.answer;
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(raw ? echo : JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message: echo, reason: "InternalError", code: status }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    access: { server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString("base64") },
    received,
    get answer() {
      return state.answer;
    },
    set answer(value: EchoAnswer) {
      state.answer = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
