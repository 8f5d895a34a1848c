/**
 * `withRequestTimeout`: a generated client call to a server that accepts the connection and never answers
 * (a frozen API server) fails within the deadline, as unreachable, instead of hanging the apply. The
 * "server" is a TCP listener in this process that never speaks, so the TLS handshake never completes.
 */
import net from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeFailure } from "../../../src/apply/kube-failure.js";
import { withRequestTimeout } from "../../../src/kube/deadline.js";
import { UnreachableError } from "../../../src/kube/rest.js";
import { ensureBosunNamespace } from "../../../src/kube/system.js";

let server: net.Server;
const held: net.Socket[] = [];
let port = 0;

beforeAll(async () => {
  server = net.createServer((socket) => {
    held.push(socket); // accepted, never answered
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function silentCluster(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "frozen", server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "admin", token: "not-a-real-token" }],
    contexts: [{ name: "frozen", cluster: "frozen", user: "admin" }],
    currentContext: "frozen",
  });
  return kc.makeApiClient(CoreV1Api);
}

describe("withRequestTimeout", () => {
  it("fails a call the server never answers within the deadline, and it reads as unreachable", async () => {
    const core = withRequestTimeout(silentCluster(), 300);
    const started = Date.now();
    const error = await core.readNamespace({ name: "bosun-system" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((error as Error).message).toContain("no answer within 300 ms");
    const mapped = kubeFailure("frozen", "read namespace bosun-system", error);
    expect(mapped).toBeInstanceOf(UnreachableError);
    expect(mapped.message).toMatch(/^cluster frozen: read namespace bosun-system: .*no answer within 300 ms/);
  });

  it("applies to calls made through helpers that are handed the client (creating bosun-system)", async () => {
    const core = withRequestTimeout(silentCluster(), 300);
    await expect(ensureBosunNamespace(core)).rejects.toThrow(/no answer within 300 ms/);
  });
});
