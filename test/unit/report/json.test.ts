/**
 * renderJson is stable (fixed key order, 2-space indent, trailing newline) and round-trips through
 * readPlan; readPlan refuses other versions and invalid plans with messages naming the file and path.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BosunError, InvalidInputError } from "../../../src/errors.js";
import type { Plan } from "../../../src/plan/types.js";
import { readPlan, renderJson } from "../../../src/report/json.js";
import { everyKindCluster, planBuilder } from "./builder.js";
import { expectGolden } from "./golden.js";

interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: { if: { properties: { kind: { const: string } } }; then: Schema }[];
  definitions?: Record<string, Schema>;
}

const SCHEMA = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../../schemas/plan.schema.json"), "utf8")) as Schema;

function resolve(schema: Schema): Schema {
  let current = schema;
  while (current.$ref !== undefined) current = SCHEMA.definitions?.[current.$ref.replace("#/definitions/", "")] ?? {};
  return current;
}

/** Every object in `value` whose keys are not in the schema's property order. */
function orderProblems(value: unknown, schemaIn: Schema, where: string): string[] {
  let schema = resolve(schemaIn);
  if (Array.isArray(value)) return value.flatMap((item, i) => orderProblems(item, schema.items ?? {}, `${where}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  const kind = (value as { kind?: unknown }).kind;
  const branch = schema.allOf?.find((b) => b.if.properties.kind.const === kind);
  if (branch) schema = resolve(branch.then);
  const keys = Object.keys(value);
  const order = Object.keys(schema.properties ?? {}).filter((k) => keys.includes(k));
  const problems = JSON.stringify(keys) === JSON.stringify(order) ? [] : [`${where}: ${keys.join(",")} instead of ${order.join(",")}`];
  return [...problems, ...keys.flatMap((k) => orderProblems((value as Record<string, unknown>)[k], schema.properties?.[k] ?? {}, `${where}.${k}`))];
}

/** The same data with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error("expected an error");
}

describe("renderJson", () => {
  it("matches the golden plan.json", async () => {
    await expectGolden("plan.json", renderJson(planBuilder().build()));
  });

  it("indents by two spaces and ends with a newline", () => {
    const text = renderJson(planBuilder().clusters().build());
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.split("\n")[1]).toBe('  "apiVersion": "bosun.dev/plan/v1",');
  });

  it("writes keys in the schema's (the types') order, whatever order the plan was built in", () => {
    const plan = planBuilder().cluster(everyKindCluster()).build();
    const text = renderJson(plan);
    expect(renderJson(reverseKeys(plan) as Plan)).toBe(text);
    expect(orderProblems(JSON.parse(text), SCHEMA, "plan")).toEqual([]);
  });

  it("starts every step with id and kind", () => {
    const plan = JSON.parse(renderJson(planBuilder().clusters(everyKindCluster()).build())) as Plan;
    for (const step of plan.clusters.flatMap((c) => c.steps)) expect(Object.keys(step).slice(0, 2)).toEqual(["id", "kind"]);
  });

  it("loses nothing: the rendered plan parses back to the same data", () => {
    const plan = planBuilder().cluster(everyKindCluster()).build();
    expect(JSON.parse(renderJson(plan))).toEqual(plan);
  });

  it("leaves out what the types do not declare", () => {
    const plan = planBuilder().build();
    const extended = { ...plan, debug: true, clusters: plan.clusters.map((c) => ({ ...c, labels: { env: "x" } })) } as Plan;
    expect(renderJson(extended)).toBe(renderJson(plan));
  });
});

describe("readPlan", () => {
  it("reads back what renderJson wrote", () => {
    const plan = planBuilder().cluster(everyKindCluster()).build();
    const text = renderJson(plan);
    expect(readPlan(text, "plan.json")).toEqual(plan);
    expect(renderJson(readPlan(text, "plan.json"))).toBe(text);
  });

  it("refuses a plan of another apiVersion, naming the file and both versions", () => {
    const text = JSON.stringify({ ...planBuilder().build(), apiVersion: "bosun.dev/plan/v2" });
    const error = thrown(() => readPlan(text, "out/plan.json"));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(
      'out/plan.json: plan apiVersion "bosun.dev/plan/v2" is not supported: this bosun reads "bosun.dev/plan/v1"; compute the plan again with this version of bosun',
    );
  });

  it.each([
    ["text that is not JSON", "{ not json", "plan.json: not valid JSON: "],
    ["a JSON array", "[]", "plan.json: not a bosun plan: expected a JSON object"],
    ["JSON null", "null", "plan.json: not a bosun plan: expected a JSON object"],
    ["an object without apiVersion", '{"fleet":"acme"}', 'plan.json: not a bosun plan: it has no apiVersion (expected "bosun.dev/plan/v1")'],
  ])("refuses %s", (_name, text, message) => {
    const error = thrown(() => readPlan(text, "plan.json"));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as BosunError).reason).toBe("InvalidInput");
    expect(error.message.startsWith(message)).toBe(true);
  });

  it("names the file and the JSON path of each schema error", () => {
    const plan = structuredClone(planBuilder().build()) as unknown as { clusters: { status: string; steps: Record<string, unknown>[] }[] };
    const staging = plan.clusters[1];
    if (!staging?.steps[0]) throw new Error("builder changed");
    staging.steps[0].kind = "addon.frobnicate";
    staging.status = "drifted";
    const error = thrown(() => readPlan(JSON.stringify(plan), "ci/plan.json"));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(
      [
        "ci/plan.json: not a valid plan:",
        '  clusters[1].status: must be one of "in-sync", "changes", "blocked", "unreachable", "invalid"',
        '  clusters[1].steps[0].kind: must be one of "backup.snapshot", "controlPlane.upgrade", "workers.upgrade", "topology.scale", "addon.install", "addon.upgrade", "addon.apply", "addon.prune", "addon.uninstall", "backup.schedule"',
      ].join("\n"),
    );
  });

  it("says what is missing and what is unknown, and counts errors past ten", () => {
    const plan = structuredClone(planBuilder().build()) as unknown as { clusters: Record<string, unknown>[] };
    for (const cluster of plan.clusters) {
      delete cluster.driver;
      cluster["team name"] = "x";
      cluster.extra = 1;
    }
    const lines = thrown(() => readPlan(JSON.stringify(plan), "plan.json")).message.split("\n");
    expect(lines).toContain("  clusters[0].driver: missing");
    expect(lines).toContain('  clusters[0]["team name"]: unknown field');
    expect(lines).toContain("  clusters[0].extra: unknown field");
    expect(lines).toHaveLength(1 + 10 + 1);
    expect(lines.at(-1)).toBe("  … and 2 more");
  });
});
