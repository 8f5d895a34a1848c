/** Programs bosun runs never inherit the Git credentials (src/tools/process.ts). */
import { afterEach, describe, expect, it } from "vitest";
import { runProcess } from "../../src/tools/process.js";

describe("child process environment", () => {
  afterEach(() => {
    delete process.env.BOSUN_GIT_TOKEN;
    delete process.env.BOSUN_GIT_PASSWORD;
  });

  it("withholds BOSUN_GIT_* from every program and passes the rest", async () => {
    process.env.BOSUN_GIT_TOKEN = "token-that-stays-home";
    process.env.BOSUN_GIT_PASSWORD = "password-that-stays-home";
    const { stdout } = await runProcess({ tool: "env", file: "env", args: [], timeoutMs: 10_000, notFoundHint: "install coreutils", env: { KEPT: "yes" } });
    expect(stdout).not.toContain("stays-home");
    expect(stdout).toMatch(/^KEPT=yes$/m);
    expect(stdout).toMatch(/^PATH=/m);
  });
});
