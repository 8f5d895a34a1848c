/**
 * Property tests of the bounded YAML parser and the spec loader on hostile input: random YAML (with
 * anchors and aliases, prototype keys, look-alike and control characters) never makes them throw, what they
 * return never exceeds the limits, and nothing reaches Object.prototype. Random secretValues paths are
 * either refused with errors or contain no prototype part.
 */
import fs from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBoundedYaml, PROTOTYPE_KEYS, YamlBudget } from "../../../src/bounded-yaml.js";
import { loadFleet } from "../../../src/spec/load.js";
import { fleetBuilder } from "./builder.js";

/** Keys a hostile file would use: prototype names, look-alikes (Cyrillic о, fullwidth low line), controls. */
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "__prоto__", "＿＿proto＿＿", "__proto__\u0000", "\u202e__proto__", "toString", "hasOwnProperty", "shell", "a.b", ""),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: fc.constantFrom("_", "p", "r", "o", "t", "\u0000", "\u0007", "\u200b", "\u00a0", "\ufeff", "é", "\ud83d\ude00"), maxLength: 10 }),
);

const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null), tie("list"), tie("map")),
  list: fc.array(tie("value"), { maxLength: 4 }),
  map: fc.dictionary(hostileKey, tie("value"), { maxKeys: 4 }),
})).value;

/** YAML built line by line with anchors and aliases fanning out, as an alias bomb would. */
const aliasChain = fc
  .record({ levels: fc.integer({ min: 1, max: 12 }), fanOut: fc.integer({ min: 1, max: 12 }), key: hostileKey })
  .map(({ levels, fanOut, key }) => {
    const lines = [`${JSON.stringify(key)}: &a0 [x]`];
    for (let i = 1; i <= levels; i += 1) lines.push(`l${i}: &a${i} [${Array.from({ length: fanOut }, () => `*a${i - 1}`).join(", ")}]`);
    return `${lines.join("\n")}\n`;
  });

const yamlText = fc.oneof(
  hostileValue.map((value) => stringify(value)),
  aliasChain,
  fc.string({ unit: fc.constantFrom("a", ":", " ", "\n", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "'", '"', "#", "\t", "|", "? ", "__proto__", "<<: ", "!!binary ", "\u0000", "\u2028"), maxLength: 200 }),
);

function measure(value: unknown, depth = 0): { nodes: number; depth: number } {
  if (typeof value !== "object" || value === null) return { nodes: 1, depth };
  let nodes = 1;
  let deepest = depth;
  for (const child of Object.values(value)) {
    const inner = measure(child, depth + 1);
    nodes += inner.nodes;
    deepest = Math.max(deepest, inner.depth);
  }
  return { nodes, depth: deepest };
}

const LIMITS = { maxNodes: 300, maxDepth: 6, maxAliases: 20, maxBytes: 4096, maxDocuments: 3 };

describe("property: the bounded parser", () => {
  it("never throws, never exceeds its limits, never touches Object.prototype", () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(fc.array(yamlText, { minLength: 1, maxLength: 3 }), (texts) => {
        const budget = new YamlBudget(8192, 500);
        let total = 0;
        for (const text of texts) {
          const parsed = parseBoundedYaml(text, { limits: LIMITS, budget });
          expect(parsed.documents.length).toBeLessThanOrEqual(LIMITS.maxDocuments);
          for (const doc of parsed.documents) {
            const size = measure(doc.value);
            expect(size.nodes).toBeLessThanOrEqual(LIMITS.maxNodes);
            expect(size.depth).toBeLessThanOrEqual(LIMITS.maxDepth);
            total += size.nodes;
          }
          for (const problem of parsed.problems) {
            expect(problem.line).toBeGreaterThanOrEqual(1);
            expect(problem.message).not.toBe("");
          }
        }
        expect(total).toBeLessThanOrEqual(500);
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
      }),
      { numRuns: 400 },
    );
  });
});

describe("property: the spec loader", () => {
  let dir = "";
  const builder = fleetBuilder();
  const original = builder.render();

  beforeAll(async () => {
    dir = await builder.write();
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const restore = async (file: string): Promise<void> => fs.writeFile(path.join(dir, file), original.get(file) ?? "");

  it("random YAML as a values file or Chart.yaml: errors or a fleet, never an exception", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("values/metrics.yaml", "charts/metrics/Chart.yaml"), yamlText, async (file, text) => {
        await fs.writeFile(path.join(dir, file), text);
        try {
          const result = await loadFleet(dir, { limits: { maxNodes: 300, maxDepth: 6, maxAliases: 20 } });
          if (!result.ok) for (const error of result.errors) expect(error.message).not.toMatch(/internal error/i);
          expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("shell");
        } finally {
          await restore(file);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("random secretValues paths: refused, or free of prototype parts", async () => {
    const segment = fc.oneof(hostileKey, fc.constantFrom("auth", "password", "a-b", "x_1"));
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), async (segments) => {
        const written = segments.join(".");
        const fleet = fleetBuilder().set("fleet.yaml", ["spec", "defaults", "addons", 0, "helm", "secretValues"], [{ path: written, env: "BOSUN_X" }]).render().get("fleet.yaml") ?? "";
        await fs.writeFile(path.join(dir, "fleet.yaml"), fleet);
        try {
          const result = await loadFleet(dir);
          if (result.ok) {
            const addon = result.value.clusters.flatMap((c) => c.addons).find((a) => a.name === "metrics");
            const paths = addon?.source.kind === "helm" ? addon.source.secretValues.map((s) => s.path) : [];
            expect(paths.length).toBeGreaterThan(0);
            for (const p of paths) for (const part of p) expect(PROTOTYPE_KEYS.has(part)).toBe(false);
          } else {
            expect(result.errors.length).toBeGreaterThan(0);
            if (segments.some((s) => PROTOTYPE_KEYS.has(s))) expect(result.errors.map((e) => e.path)).toContain("spec.defaults.addons[0].helm.secretValues[0].path");
          }
        } finally {
          await restore("fleet.yaml");
        }
      }),
      { numRuns: 150 },
    );
  });
});
