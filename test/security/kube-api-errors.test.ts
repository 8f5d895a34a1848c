/**
 * An API server that echoes the request's `Authorization` header in its error messages (a hostile server,
 * or a careless proxy in front of a real one): a real HTTPS server on 127.0.0.1 with its own CA, reached
 * through a kubeconfig outside the repository. Whatever status it answers with, the bearer token — the
 * kubeconfig's, or one an exec plugin handed out — never reaches text, markdown or JSON output.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialScript, execUser, kubeconfigYaml, operatorDir, startEchoServer, type EchoAnswer, type EchoServer } from "./kube-support.js";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
let echo: EchoServer;
let repo: HostileRepo;
let operator: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  echo = await startEchoServer();
  operator = await operatorDir();
  repo = await hostileRepo();
  await fs.writeFile(path.join(operator.dir, "token"), kubeconfigYaml(echo.access, { token: canaries.kubeToken }));
  // The plugin hands out the Git canary as its token: scrubbing must cover what was sent, wherever it came from.
  await fs.writeFile(path.join(operator.dir, "exec"), kubeconfigYaml(echo.access, execUser(credentialScript(path.join(operator.dir, "ran"), canaries.gitToken))));
  await repo.write("clusters/token.yaml", clusterYaml("token").replace("{ context: gamma }", `{ kubeconfig: { path: ${path.join(operator.dir, "token")} } }`));
  await repo.write("clusters/exec.yaml", clusterYaml("exec").replace("{ context: gamma }", `{ kubeconfig: { path: ${path.join(operator.dir, "exec")} } }`));
});
afterAll(async () => {
  await echo.close();
  await repo.cleanup();
  await operator.cleanup();
});

describe("API server messages are scrubbed of the connection's credentials", () => {
  it.each<[number, "text" | "markdown" | "json", EchoAnswer]>([
    [500, "text", { status: 500 }],
    [409, "markdown", { status: 409 }],
    [422, "json", { status: 422 }],
    [503, "text", { status: 503 }],
    [500, "json", { status: 500, raw: true }],
    [200, "markdown", { status: 200, raw: true }],
  ])("HTTP %i (-o %s, %j)", async (status, output, answer) => {
    echo.answer = answer;
    const before = echo.received.length;
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "token", "-o", output], canaries);
    // The server did get the token and echoed it: otherwise this would prove nothing.
    expect(echo.received.slice(before)).toContain(`Bearer ${canaries.kubeToken}`);
    await expectSafe(repo, canaries, result, { mentions: [answer.raw && status === 200 ? "invalid JSON" : `HTTP ${status}`] });
    // Markdown escapes the asterisks.
    if (!(answer.raw && status === 200)) expect(`${result.stdout}${result.stderr}`).toMatch(/you sent Authorization: (\\?\*){3}/);
  });

  it("scrubs a token an exec plugin produced", async () => {
    echo.answer = { status: 500 };
    const before = echo.received.length;
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "exec"], canaries, { env: { BOSUN_ALLOW_EXEC_PLUGINS: "true" } });
    expect(echo.received.slice(before)).toContain(`Bearer ${canaries.gitToken}`);
    await expectSafe(repo, canaries, result, { mentions: ["HTTP 500", "you sent Authorization: ***"] });
  });
});
