/**
 * The boundaries `eslint.config.js` enforces, checked by linting small offending snippets with the
 * project's own configuration: if a rule is deleted or stops matching, its case here fails, so a boundary
 * cannot silently disappear. The snippets are linted as if they were files under src/ (they are not
 * written anywhere); type information is off for them, since they are not part of the TypeScript project
 * and the boundary rules need none.
 */
import path from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";

const REPO = path.resolve(import.meta.dirname, "../..");

const eslint = new ESLint({
  cwd: REPO,
  overrideConfig: [{ files: ["src/**/*.ts"], ...tseslint.configs.disableTypeChecked }],
});

/** The ids of the boundary rules that fire on `code` linted as `file`. */
async function firing(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  const boundary = new Set(["@typescript-eslint/no-restricted-imports", "no-restricted-imports", "no-restricted-globals", "no-restricted-properties", "no-restricted-syntax"]);
  return (result?.messages ?? []).flatMap((m) => (m.ruleId !== null && boundary.has(m.ruleId) ? [m.ruleId] : []));
}

const PURE_FILE = "src/plan/lint-probe.ts";

describe("src/plan and src/diff are pure", () => {
  it.each([
    ["a node: built-in", `import fs from "node:fs";\nexport const x = fs;`, "@typescript-eslint/no-restricted-imports"],
    ["a bare built-in", `import os from "os";\nexport const x = os;`, "@typescript-eslint/no-restricted-imports"],
    ["src/kube (a value)", `import { KubeRest } from "../kube/rest.js";\nexport const x = KubeRest;`, "@typescript-eslint/no-restricted-imports"],
    ["src/tools", `import { helmTemplate } from "../tools/helm.js";\nexport const x = helmTemplate;`, "@typescript-eslint/no-restricted-imports"],
    ["src/addons", `import { compareObject } from "../addons/compare.js";\nexport const x = compareObject;`, "@typescript-eslint/no-restricted-imports"],
    ["another module with I/O", `import { loadFleet } from "../spec/load.js";\nexport const x = loadFleet;`, "@typescript-eslint/no-restricted-imports"],
    ["@kubernetes/client-node, even its types", `import type { V1Pod } from "@kubernetes/client-node";\nexport type X = V1Pod;`, "@typescript-eslint/no-restricted-imports"],
    ["Date.now()", `export const x = Date.now();`, "no-restricted-properties"],
    ["new Date() without arguments", `export const x = new Date();`, "no-restricted-syntax"],
    ["Date() as a function", `export const x = Date();`, "no-restricted-syntax"],
    ["Math.random()", `export const x = Math.random();`, "no-restricted-properties"],
    ["process", `export const x = process.env.HOME;`, "no-restricted-globals"],
    ["setTimeout", `setTimeout(() => undefined, 1);`, "no-restricted-globals"],
    ["setInterval", `setInterval(() => undefined, 1);`, "no-restricted-globals"],
    ["setImmediate", `setImmediate(() => undefined);`, "no-restricted-globals"],
    ["globalThis.setTimeout", `globalThis.setTimeout(() => undefined, 1);`, "no-restricted-properties"],
  ])("forbids %s", async (_what, code, rule) => {
    expect(await firing(code, PURE_FILE)).toContain(rule);
  });

  it("applies to src/diff too", async () => {
    expect(await firing(`export const x = Date.now();`, "src/diff/lint-probe.ts")).toContain("no-restricted-properties");
  });

  it("allows what a pure module needs: types from src/kube, pure spec helpers, a given moment", async () => {
    const code = [
      `import type { KubeObject } from "../kube/rest.js";`,
      `import { parseCron } from "../spec/cron.js";`,
      `import semver from "semver";`,
      `export const f = (o: KubeObject, now: string): unknown => [o, parseCron("* * * * *"), semver.valid("1.2.3"), new Date(now)];`,
    ].join("\n");
    expect(await firing(code, PURE_FILE)).toEqual([]);
  });

  it("does not apply outside them", async () => {
    expect(await firing(`export const x = Date.now();`, "src/apply/lint-probe.ts")).toEqual([]);
  });
});

describe("@kubernetes/client-node only in src/kube and src/sandbox", () => {
  const VALUE = `import { CoreV1Api } from "@kubernetes/client-node";\nexport const x = CoreV1Api;`;
  it.each(["src/apply/lint-probe.ts", "src/addons/lint-probe.ts", "src/observe/lint-probe.ts", "src/drivers/kubeadm/lint-probe.ts"])("forbids a value import in %s", async (file) => {
    expect(await firing(VALUE, file)).toContain("@typescript-eslint/no-restricted-imports");
  });

  it("allows a type-only import elsewhere", async () => {
    expect(await firing(`import type { V1Pod } from "@kubernetes/client-node";\nexport type X = V1Pod;`, "src/apply/lint-probe.ts")).toEqual([]);
  });

  it.each(["src/kube/lint-probe.ts", "src/sandbox/lint-probe.ts"])("allows it in %s", async (file) => {
    expect(await firing(VALUE, file)).toEqual([]);
  });
});

describe("child_process only in src/tools", () => {
  it("forbids it elsewhere", async () => {
    expect(await firing(`import { spawn } from "node:child_process";\nexport const x = spawn;`, "src/apply/lint-probe.ts")).toContain("no-restricted-imports");
  });
});
