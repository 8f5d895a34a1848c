/**
 * A test certificate authority made with the real `openssl`: a CA, a server certificate for 127.0.0.1 and
 * localhost signed by it, and a client certificate — for HTTPS chart repositories and OCI registries on
 * 127.0.0.1. Everything lives in one temporary directory; call `remove()` when done.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { ensureDebianPackage } from "./packages.js";

/** PEM files of a test CA and what it signed. */
export interface TestCa {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Contents of the files, for servers started in-process. */
  pem: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  remove: () => Promise<void>;
}

let program: Promise<string> | undefined;

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  // Debian's base image has it; a machine without it gets the package, as the other test programs do.
  program ??= ensureDebianPackage("openssl", "openssl");
  await execa(await program, args, { cwd, timeout: 60_000 });
}

/** Creates a fresh CA with a server certificate for 127.0.0.1/localhost and a client certificate. */
export async function createTestCa(): Promise<TestCa> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-test-ca-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bosun test CA"], dir);
  await fs.writeFile(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await fs.writeFile(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, cn] of [
    ["server", "127.0.0.1"],
    ["client", "bosun test client"],
  ] as const) {
    await openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
    await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`], dir);
  }
  const file = (name: string): string => path.join(dir, name);
  const read = (name: string): Promise<string> => fs.readFile(file(name), "utf8");
  return {
    dir,
    caFile: file("ca.crt"),
    serverCert: file("server.crt"),
    serverKey: file("server.key"),
    clientCert: file("client.crt"),
    clientKey: file("client.key"),
    pem: { ca: await read("ca.crt"), serverCert: await read("server.crt"), serverKey: await read("server.key"), clientCert: await read("client.crt"), clientKey: await read("client.key") },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  };
}
