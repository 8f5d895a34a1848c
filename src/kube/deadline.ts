/**
 * A deadline for every request of a generated `@kubernetes/client-node` API object. Those clients have no
 * timeout of their own; bosun's own requests go through `KubeRest`, which has one.
 */
import https from "node:https";
import type { Duplex } from "node:stream";
import { Observable, type ConfigurationOptions, type ObservableMiddleware } from "@kubernetes/client-node";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./rest.js";

/**
 * An https.Agent whose connections are destroyed when they are not closed within `timeoutMs`, so that a
 * request to an API server that accepts connections but never answers (a frozen process, a black-holed
 * network) fails instead of waiting forever. A plain socket timeout is not enough: Node does not fire it
 * while a write is pending, and a TLS connection to a frozen server keeps the request queued behind the
 * handshake. The agent is made per request (as `@kubernetes/client-node` makes its own) and does not keep
 * connections alive, so a connection's life is one request.
 */
class DeadlineAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly timeoutMs: number,
  ) {
    super({ ...options, keepAlive: false });
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (socket) {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      socket.once("close", () => {
        clearTimeout(timer);
      });
    }
    return socket;
  }
}

/** Call-time middleware that swaps the request's agent for a {@link DeadlineAgent} with the same TLS settings. */
function deadlineMiddleware(timeoutMs: number): ObservableMiddleware {
  return {
    pre: (request) => {
      const agent = request.getAgent();
      if (agent instanceof https.Agent) request.setAgent(new DeadlineAgent(agent.options, timeoutMs));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

/**
 * Wraps a generated `@kubernetes/client-node` API object (`CoreV1Api`, `CoordinationV1Api`…) so that every
 * call must be answered within `timeoutMs` (default: `KubeRest`'s request timeout). The generated clients
 * of `@kubernetes/client-node` 1.3 have no timeout at all: against a frozen API server a lock or journal
 * call never settled, and the whole apply hung on one cluster — the process
 * could not even exit. A call that times out rejects without an HTTP status, which `kubeFailure`
 * (`src/apply/lock.ts`) reports as `UnreachableError`. Every method of those objects takes `(param, options?)`; the
 * deadline is appended to the caller's own middleware. Meant for small requests (reads and writes of one
 * object), not for watches or large lists.
 */
export function withRequestTimeout<T extends object>(api: T, timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS): T {
  const middleware = deadlineMiddleware(timeoutMs);
  return new Proxy(api, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (param: unknown, options?: ConfigurationOptions) =>
        (value as (param: unknown, options: ConfigurationOptions) => unknown).call(target, param ?? {}, {
          ...options,
          middleware: [...(options?.middleware ?? []), middleware],
          middlewareMergeStrategy: "append",
        });
    },
  });
}
