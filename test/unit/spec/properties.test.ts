/**
 * Property tests: whatever bytes a fleet repository holds, loading returns errors — it never throws, and
 * never returns a half-loaded fleet.
 */
import fs from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCollector } from "../../../src/spec/issues.js";
import { DEFAULT_LIMITS } from "../../../src/spec/limits.js";
import { loadFleet, type LoadResult } from "../../../src/spec/load.js";
import { SourceMap, parseSpecFile } from "../../../src/spec/yaml.js";
import { fleetBuilder } from "./builder.js";

let dir = "";
let valid: Map<string, string>;

beforeAll(async () => {
  const builder = fleetBuilder();
  valid = builder.render();
  dir = await builder.write();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function loadWith(file: string, text: string): Promise<LoadResult> {
  await fs.writeFile(path.join(dir, file), text);
  try {
    return await loadFleet(dir);
  } finally {
    await fs.writeFile(path.join(dir, file), valid.get(file) ?? "");
  }
}

function expectErrors(result: LoadResult): void {
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.errors.length).toBeGreaterThan(0);
    for (const error of result.errors) {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.col).toBeGreaterThanOrEqual(1);
      expect(error.message).not.toBe("");
    }
  }
}

const yamlish = fc.string({ unit: fc.constantFrom("a", ":", " ", "\n", "-", "[", "]", "{", "}", ",", "&x", "*x", "'", '"', "#", "\t", "|", ">", "?", "!!str", "kind: Cluster", "1.3"), maxLength: 120 });

describe("property: hostile input gives errors, never exceptions", () => {
  it("random text as fleet.yaml", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), yamlish), async (text) => {
      expectErrors(await loadWith("fleet.yaml", text));
    }), { numRuns: 100 });
  });

  it("random text as a cluster file", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), yamlish),
        async (text) => {
          const result = await loadWith("clusters/prod.yaml", text);
          // Only a file with no document at all (empty, comments) leaves a valid, smaller fleet — and says so.
          if (result.ok) expect(result.warnings.map((w) => w.message)).toContain("the file holds no YAML document");
          else expectErrors(result);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("random JSON values as a cluster document", async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
      expectErrors(await loadWith("clusters/prod.yaml", stringify(value)));
    }), { numRuns: 100 });
  });

  it("truncated spec files never throw", async () => {
    const files = ["fleet.yaml", "clusters/prod.yaml", "clusters/canary.yaml"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...files), fc.double({ min: 0, max: 1, noNaN: true }), async (file, cut) => {
        const text = valid.get(file) ?? "";
        const result = await loadWith(file, text.slice(0, Math.floor(text.length * cut)));
        // A cut at a line end can leave a valid but shorter spec; anything else must be errors.
        if (!result.ok) expectErrors(result);
      }),
      { numRuns: 100 },
    );
  });

  it("the parser alone survives deep nesting and alias bombs", () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    for (const text of [deep, bomb]) {
      const issues = new IssueCollector();
      expect(() => parseSpecFile("f.yaml", text, DEFAULT_LIMITS, new SourceMap(), issues)).not.toThrow();
      expect(issues.errors.length).toBeGreaterThan(0);
    }
  });
});

describe("property: the prototype cannot be reached through keys", () => {
  it("__proto__ keys are data, reported as unknown fields", async () => {
    const result = await loadWith("clusters/prod.yaml", `${valid.get("clusters/prod.yaml") ?? ""}__proto__: { polluted: true }\n`);
    expectErrors(result);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
