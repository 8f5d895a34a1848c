/**
 * `KubeRest` against a server that accepts the connection and never answers (a frozen API server): the
 * request fails by its deadline, as unreachable, instead of hanging the apply; an abort stops it at once. The
 * "server" is a TCP listener in this process that never speaks, so the TLS handshake never completes.
 */
import net from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { KubeRest, UnreachableError } from "../../../src/kube/rest.js";
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

function silentCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "frozen", server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "admin", token: "not-a-real-token" }],
    contexts: [{ name: "frozen", cluster: "frozen", user: "admin" }],
    currentContext: "frozen",
  });
  return kc;
}

describe("a frozen API server", () => {
  it("fails a KubeRest request the server never answers, as unreachable, by its deadline", async () => {
    const rest = new KubeRest(silentCluster(), { cluster: "frozen", timeoutMs: 300 });
    const error = await rest.get("/api/v1/namespaces/bosun-system").then(
      () => undefined,
      (e: unknown) => e,
    );
    // The deadline fired (its words), not anything else: no wall-clock threshold needed.
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as Error).message).toMatch(/^cluster frozen: GET \/api\/v1\/namespaces\/bosun-system: no answer for 300 ms/);
    rest.close();
  });

  it("applies to the lock's and the journal's helpers (creating bosun-system)", async () => {
    const rest = new KubeRest(silentCluster(), { cluster: "frozen", timeoutMs: 300 });
    await expect(ensureBosunNamespace(rest)).rejects.toThrow(/no answer for 300 ms/);
    rest.close();
  });

  it("stops a request in flight when its signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new InvalidInputError("stopping (test)");
    const rest = new KubeRest(silentCluster(), { cluster: "frozen", timeoutMs: 3_600_000, signal: controller.signal });
    const pending = rest.get("/api/v1/namespaces/bosun-system");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    rest.close();
  });

  it("sends no write once its signal aborted, even one that was waiting at the write fence", async () => {
    const controller = new AbortController();
    let openFence = (): void => undefined;
    const fence = new Promise<void>((resolve) => {
      openFence = resolve;
    });
    const rest = new KubeRest(silentCluster(), { cluster: "frozen", signal: controller.signal, beforeWrite: () => fence });
    const reason = new InvalidInputError("lock lost (test)");
    const write = rest.call({ method: "PUT", path: "/api/v1/namespaces/bosun-system/configmaps/x", body: "{}" });
    controller.abort(reason);
    openFence();
    await expect(write).rejects.toBe(reason);
    await expect(rest.call({ method: "DELETE", path: "/api/v1/namespaces/x" })).rejects.toBe(reason);
    expect(rest.requests).toBe(0);
    rest.close();
  });
});
