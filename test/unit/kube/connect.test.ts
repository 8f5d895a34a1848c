import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultKubeConfig, kubeConfigFor, kubeconfigPolicy } from "../../../src/kube/connect.js";

let dir: string;
// Nothing untrusted here: these cases are about reading kubeconfigs (kubeconfig-policy.test.ts covers trust).
const open = kubeconfigPolicy([], false);
const kubeconfig = (cluster: string, server: string, token: string): string => `apiVersion: v1
kind: Config
clusters:
  - name: ${cluster}
    cluster: { server: ${server} }
users:
  - name: admin
    user: { token: ${token} }
contexts:
  - name: ${cluster}
    context: { cluster: ${cluster}, user: admin }
current-context: ${cluster}
`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-connect-"));
  await fs.writeFile(path.join(dir, "a"), kubeconfig("one", "https://127.0.0.1:1111", "token-a"));
  await fs.writeFile(path.join(dir, "b"), kubeconfig("two", "https://127.0.0.1:2222", "token-b"));
  await fs.writeFile(path.join(dir, "broken"), `${kubeconfig("three", "https://127.0.0.1:3333", "SUPERSECRET-TOKEN")}\n  : [unclosed\n`);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("kubeconfig connections", () => {
  it("merges $KUBECONFIG files like kubectl: the first file that names something wins", () => {
    const kc = defaultKubeConfig({ KUBECONFIG: [path.join(dir, "a"), path.join(dir, "b")].join(path.delimiter) });
    expect(kc.contexts.map((c) => c.name)).toEqual(["one", "two"]);
    // Both files name the user "admin": the first one's token is kept.
    expect(kc.users).toHaveLength(1);
    expect(kc.users[0]?.token).toBe("token-a");
    const two = kubeConfigFor("two", { kind: "context", context: "two" }, {}, () => kc, open);
    expect(two.getCurrentCluster()?.server).toBe("https://127.0.0.1:2222");
  });

  it("names a missing context and a missing variable", () => {
    const kc = defaultKubeConfig({ KUBECONFIG: path.join(dir, "a") });
    expect(() => kubeConfigFor("x", { kind: "context", context: "nope" }, {}, () => kc, open)).toThrow(/cluster x: context "nope" is not in the default kubeconfig/);
    expect(() => kubeConfigFor("x", { kind: "kubeconfig-env", env: "X_KUBECONFIG", context: null }, {}, () => kc, open)).toThrow(/environment variable X_KUBECONFIG/);
  });

  it("never quotes a broken kubeconfig, whose lines are credentials", () => {
    let message = "";
    try {
      kubeConfigFor(
        "three",
        { kind: "kubeconfig-file", path: path.join(dir, "broken"), context: null },
        {},
        () => {
          throw new Error("unused");
        },
        open,
      );
    } catch (error) {
      message = (error as Error).message;
      expect((error as Error).cause).toBeUndefined();
    }
    expect(message).toMatch(/cluster three: cannot read kubeconfig .*broken \(connection.kubeconfig.path\): /);
    expect(message).not.toContain("SUPERSECRET");
  });
});
