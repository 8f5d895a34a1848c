/** Network helpers for tests. */
import net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (bound, read and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(address.port);
      });
    });
  });
}
