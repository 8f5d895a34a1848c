/**
 * schemas/plan.schema.json describes exactly the `Plan` type: plans built with the builder validate,
 * mutations that break the type fail, every property is documented, and — read from src/plan/types.ts
 * with the TypeScript compiler, not from a copy — every field, required flag and closed vocabulary of the
 * type matches the schema. Adding a step kind, status or field to types.ts without the schema fails here.
 */
import fs from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../src/plan/types.js";
import { readPlan } from "../../../src/report/json.js";
import { clusterPlan, everyKindCluster, planBuilder, step } from "./builder.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const TYPES_FILE = path.join(ROOT, "src/plan/types.ts");

/** A JSON schema node, as much of it as these tests read. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: { if: { properties: { kind: { const: string } } }; then: Schema }[];
  definitions?: Record<string, Schema>;
}

const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, "schemas/plan.schema.json"), "utf8")) as Schema;
const DEFINITIONS = SCHEMA.definitions ?? {};

function resolve(schema: Schema, root: Schema = SCHEMA): Schema {
  let current = schema;
  while (current.$ref !== undefined) {
    const name = current.$ref.replace(/^#\/definitions\//, "");
    const target = root.definitions?.[name];
    if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

let validate: ValidateFunction;
beforeAll(() => {
  validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);
});

function errorsOf(plan: unknown): string[] {
  return validate(plan) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${e.message ?? ""}`);
}

describe("plans that must validate", () => {
  it.each<[string, () => Plan]>([
    ["the default four-cluster plan", () => planBuilder().build()],
    ["a plan of a local directory (revision null)", () => planBuilder().local().build()],
    ["an empty plan", () => planBuilder().clusters().build()],
    ["a cluster with every step kind and finding kind", () => planBuilder().clusters(everyKindCluster()).build()],
    ["an invalid cluster", () => planBuilder().clusters(clusterPlan({ name: "x", status: "invalid", reason: "observed through clusterAPI", versions: { desired: "1.35.4" } })).build()],
    ["a cluster without workers", () => planBuilder().clusters(clusterPlan({ name: "solo", versions: { desired: "1.35.4", controlPlane: { oldest: "1.35.4", newest: "1.35.4" } } })).build()],
    ["a cluster API scale step without a runbook", () => planBuilder().clusters(clusterPlan({ name: "capi", status: "changes", driver: "clusterAPI", steps: [step.scale("capi", 1, 3)] })).build()],
    ["a sha-256 revision", () => ({ ...planBuilder().build(), revision: "a".repeat(64) })],
  ])("%s", (_name, build) => {
    expect(errorsOf(build())).toEqual([]);
  });

  const plannerGolden = path.join(ROOT, "test/unit/plan/golden/fleet-example-seeded.json");
  it.skipIf(!fs.existsSync(plannerGolden))("the planner's own golden plan (test/unit/plan/golden)", () => {
    expect(() => readPlan(fs.readFileSync(plannerGolden, "utf8"), plannerGolden)).not.toThrow();
  });
});

/** Marks a mutation that deletes the field instead of setting it. */
const DELETE = Symbol("delete");

/** Sets (or deletes) the field at a dotted path (`clusters.1.steps.0.kind`) of a JSON value. */
function mutate(root: unknown, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop() ?? "";
  let target = root;
  for (const key of keys) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== "object" || target === null) throw new Error(`the default plan has nothing at ${path}`);
  const object = target as Record<string, unknown>;
  if (value !== DELETE) object[last] = value;
  else if (last in object) Reflect.deleteProperty(object, last);
  else throw new Error(`the default plan has no ${path} to delete`);
}

describe("mutations that must fail", () => {
  // [what, path in the default plan, new value or DELETE, the JSON path readPlan names, the ajv keyword]
  it.each<[string, string, unknown, string, string]>([
    ["an unknown step kind", "clusters.1.steps.0.kind", "addon.frobnicate", "clusters[1].steps[0].kind", "enum"],
    ["a step without id", "clusters.1.steps.0.id", DELETE, "clusters[1].steps[0].id", "required"],
    ["a bad cluster status", "clusters.0.status", "drifted", "clusters[0].status", "enum"],
    ["an extra field on a step", "clusters.1.steps.0.extra", true, "clusters[1].steps[0].extra", "additionalProperties"],
    ["an extra field on the plan", "comment", "hi", "comment", "additionalProperties"],
    ["an extra field on a cluster", "clusters.0.labels", {}, "clusters[0].labels", "additionalProperties"],
    ["a field of another step kind", "clusters.1.steps.1.batchSize", 1, "clusters[1].steps[1].batchSize", "additionalProperties"],
    ["a bad step state", "clusters.1.steps.0.state", "done", "clusters[1].steps[0].state", "enum"],
    ["a workers step without batchSize", "clusters.1.steps.2.batchSize", DELETE, "clusters[1].steps[2].batchSize", "required"],
    ["a batch size of 0", "clusters.1.steps.2.batchSize", 0, "clusters[1].steps[2].batchSize", "minimum"],
    ["a fractional replica count", "clusters.2.steps.0.to", 2.5, "clusters[2].steps[0].to", "type"],
    ["an add-on upgrade without chartVersion.to", "clusters.1.steps.5.chartVersion.to", DELETE, "clusters[1].steps[5].chartVersion.to", "required"],
    ["an unknown object action", "clusters.1.steps.5.objects.0.action", "delete", "clusters[1].steps[5].objects[0].action", "enum"],
    ["an unknown finding kind", "clusters.2.findings.0.kind", "disk.full", "clusters[2].findings[0].kind", "enum"],
    ["an unknown driver", "clusters.0.driver", "k3s", "clusters[0].driver", "enum"],
    ["a revision that is not a commit", "revision", "HEAD", "revision", "pattern"],
    ["a generatedAt that is not UTC", "generatedAt", "2026-11-23T13:00:00+01:00", "generatedAt", "pattern"],
    ["a summary without a status", "summary.clusters.invalid", DELETE, "summary.clusters.invalid", "required"],
    ["a negative count", "summary.steps.pending", -1, "summary.steps.pending", "minimum"],
    ["a git source without commit", "source.commit", DELETE, "source.commit", "required"],
    ["an unknown source kind", "source", { kind: "s3", bucket: "x" }, "source.kind", "enum"],
    ["a wave without clusters", "waves.0.clusters", DELETE, "waves[0].clusters", "required"],
    ["a version range without newest", "clusters.0.versions.workers.newest", DELETE, "clusters[0].versions.workers.newest", "required"],
    ["an empty cluster name", "clusters.0.name", "", "clusters[0].name", "minLength"],
    ["a null where a string is required", "clusters.1.steps.0.summary", null, "clusters[1].steps[0].summary", "type"],
  ])("%s", (_name, path, value, jsonPath, keyword) => {
    const plan: unknown = structuredClone(planBuilder().build());
    mutate(plan, path, value);
    expect(validate(plan)).toBe(false);
    expect((validate.errors ?? []).map((e) => e.keyword)).toContain(keyword);
    expect(() => readPlan(JSON.stringify(plan), "plan.json")).toThrow(`${jsonPath}:`);
  });
});

describe("documentation", () => {
  it("has a description on every property, every definition and every array's items", () => {
    const missing: string[] = [];
    const visit = (schema: Schema, where: string): void => {
      if (resolve(schema).description === undefined) missing.push(where);
      for (const [name, property] of Object.entries(schema.properties ?? {})) visit(property, `${where}.${name}`);
      if (schema.items) visit(schema.items, `${where}[]`);
    };
    visit(SCHEMA, "(root)");
    for (const [name, definition] of Object.entries(DEFINITIONS)) visit(definition, `#/definitions/${name}`);
    expect(missing).toEqual([]);
  });
});

// ---- the schema against src/plan/types.ts, read by the TypeScript compiler ------------------------------

let checker: ts.TypeChecker;
let exported: Map<string, ts.Symbol>;

beforeAll(() => {
  // Only types.ts and the ES5 lib (for Array): half a second instead of a full program.
  const program = ts.createProgram([TYPES_FILE], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es5.d.ts"], types: [] });
  const diagnostics = program.getSemanticDiagnostics();
  if (diagnostics.length > 0) throw new Error(ts.formatDiagnostics(diagnostics, ts.createCompilerHost({})));
  checker = program.getTypeChecker();
  const source = program.getSourceFile(TYPES_FILE);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error("cannot read src/plan/types.ts");
  exported = new Map(checker.getExportsOfModule(module).map((symbol) => [symbol.name, symbol]));
}, 30_000);

function typeNamed(name: string): ts.Type {
  const symbol = exported.get(name);
  if (!symbol) throw new Error(`src/plan/types.ts exports no ${name}`);
  return checker.getDeclaredTypeOfSymbol(symbol);
}

function propertyType(type: ts.Type, name: string): ts.Type {
  const property = checker.getPropertyOfType(type, name);
  if (!property) throw new Error(`no property ${name} on ${checker.typeToString(type)}`);
  return checker.getNonNullableType(checker.getTypeOfSymbol(property));
}

/** The members of a union of string literals, sorted; throws for anything else. */
function literals(type: ts.Type): string[] {
  const members = type.isUnion() ? type.types : [type];
  return members
    .map((member) => {
      if (!member.isStringLiteral()) throw new Error(`${checker.typeToString(type)} is not a union of string literals`);
      return member.value;
    })
    .sort();
}

function schemaLiterals(schema: Schema, root: Schema = SCHEMA): string[] {
  const resolved = resolve(schema, root);
  const values = resolved.enum ?? (resolved.const === undefined ? [] : [resolved.const]);
  return values.map(String).sort();
}

function stepVariant(kind: string): Schema {
  const branch = resolve({ $ref: "#/definitions/Step" }).allOf?.find((b) => b.if.properties.kind.const === kind);
  if (!branch) throw new Error(`the schema's Step has no branch for ${kind}`);
  return resolve(branch.then);
}

describe("closed vocabularies equal the unions in src/plan/types.ts", () => {
  const def = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
  it.each<[string, () => ts.Type, () => Schema]>([
    ["step kind", () => typeNamed("StepKind"), () => resolve(def("Step")).properties?.kind ?? {}],
    ["step state", () => typeNamed("StepState"), () => def("StepState")],
    ["cluster status", () => typeNamed("ClusterStatus"), () => def("ClusterStatus")],
    ["cluster driver", () => propertyType(typeNamed("ClusterPlan"), "driver"), () => resolve(def("ClusterPlan")).properties?.driver ?? {}],
    ["finding kind", () => propertyType(typeNamed("Finding"), "kind"), () => resolve(def("Finding")).properties?.kind ?? {}],
    ["object action", () => propertyType(typeNamed("ObjectSummary"), "action"), () => resolve(def("ObjectSummary")).properties?.action ?? {}],
    ["add-on kind", () => propertyType(typeNamed("AddonInstallStep"), "addonKind"), () => def("AddonKind")],
    ["backup schedule action", () => propertyType(typeNamed("BackupScheduleStep"), "action"), () => resolve(def("BackupScheduleStep")).properties?.action ?? {}],
    ["source kind", () => propertyType(typeNamed("PlanSource"), "kind"), () => resolve(def("PlanSource")).properties?.kind ?? {}],
    ["apiVersion", () => propertyType(typeNamed("Plan"), "apiVersion"), () => SCHEMA.properties?.apiVersion ?? {}],
  ])("%s", (_name, tsType, schema) => {
    const expected = literals(tsType());
    expect(expected.length).toBeGreaterThan(0);
    expect(schemaLiterals(schema())).toEqual(expected);
  });

  it("summary.clusters has a count for every cluster status", () => {
    const counts = resolve({ $ref: "#/definitions/ClusterCounts" });
    expect(Object.keys(counts.properties ?? {}).sort()).toEqual(literals(typeNamed("ClusterStatus")));
    expect([...(counts.required ?? [])].sort()).toEqual(literals(typeNamed("ClusterStatus")));
  });

  it("every step kind has its own schema branch, whose kind is that constant", () => {
    for (const kind of literals(typeNamed("StepKind"))) expect(stepVariant(kind).properties?.kind?.const).toBe(kind);
    expect(resolve({ $ref: "#/definitions/Step" }).allOf?.length).toBe(literals(typeNamed("StepKind")).length);
  });
});

/** Every difference between the `Plan` type and the schema `root`, walking both together. */
function shapeProblems(root: Schema): string[] {
  const problems: string[] = [];
  compare(typeNamed("Plan"), root, "Plan", problems);
  return problems;

  function compare(type: ts.Type, schemaIn: Schema, where: string, problems: string[]): void {
    const schema = resolve(schemaIn, root);
    const members = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & ts.TypeFlags.Undefined));
    const nullable = members.some((t) => t.flags & ts.TypeFlags.Null);
    const rest = members.filter((t) => !(t.flags & ts.TypeFlags.Null));
    const types = new Set(Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type]);
    if (nullable !== types.has("null")) problems.push(`${where}: null ${nullable ? "allowed by the type, not the schema" : "allowed by the schema, not the type"}`);

    if (rest.every((t) => t.isStringLiteral())) {
      const expected = rest.map((t) => (t.isStringLiteral() ? t.value : "")).sort();
      const actual = schemaLiterals(schema, root);
      if (JSON.stringify(expected) !== JSON.stringify(actual)) problems.push(`${where}: type has ${expected.join("|")}, schema has ${actual.join("|")}`);
      return;
    }
    if (rest.length > 1) {
      compareUnion(rest, schema, where, problems);
      return;
    }
    const only = rest[0];
    if (!only) return;
    if (only.flags & ts.TypeFlags.String) {
      if (!types.has("string")) problems.push(`${where}: a string in the type, ${JSON.stringify(schema.type)} in the schema`);
    } else if (only.flags & ts.TypeFlags.Number) {
      if (!types.has("integer") && !types.has("number")) problems.push(`${where}: a number in the type, ${JSON.stringify(schema.type)} in the schema`);
    } else if (checker.isArrayType(only)) {
      const element = checker.getTypeArguments(only as ts.TypeReference)[0];
      if (!types.has("array") || !schema.items || !element) problems.push(`${where}: an array in the type, not in the schema`);
      else compare(element, schema.items, `${where}[]`, problems);
    } else if (only.flags & ts.TypeFlags.Object) {
      compareObject(only, schema, where, problems);
    } else {
      problems.push(`${where}: the test does not know the type ${checker.typeToString(only)}`);
    }
  }

  function compareObject(type: ts.Type, schema: Schema, where: string, problems: string[]): void {
    if (schema.type !== "object" || schema.additionalProperties !== false) problems.push(`${where}: not a closed object in the schema`);
    const properties = checker.getPropertiesOfType(type);
    const names = properties.map((p) => p.name);
    const schemaNames = Object.keys(schema.properties ?? {});
    const missing = names.filter((n) => !schemaNames.includes(n));
    const extra = schemaNames.filter((n) => !names.includes(n));
    if (missing.length > 0) problems.push(`${where}: fields missing from the schema: ${missing.join(", ")}`);
    if (extra.length > 0) problems.push(`${where}: fields the type does not have: ${extra.join(", ")}`);
    const required = properties.filter((p) => !(p.flags & ts.SymbolFlags.Optional)).map((p) => p.name).sort();
    const schemaRequired = [...(schema.required ?? [])].sort();
    if (JSON.stringify(required) !== JSON.stringify(schemaRequired)) {
      problems.push(`${where}: required ${required.join(", ")} in the type, ${schemaRequired.join(", ")} in the schema`);
    }
    const declared = declarationOrder(properties);
    if (declared && JSON.stringify(declared) !== JSON.stringify(schemaNames)) {
      problems.push(`${where}: fields in the order ${declared.join(", ")} in the type, ${schemaNames.join(", ")} in the schema`);
    }
    for (const property of properties) {
      const child = schema.properties?.[property.name];
      if (child) compare(checker.getTypeOfSymbol(property), child, `${where}.${property.name}`, problems);
    }
  }

  /**
   * The order fields are declared in, or undefined where TypeScript does not keep one (mapped types such
   * as `Record<ClusterStatus, number>`). Steps list `id` and `kind` first, then the other common fields of
   * StepBase, then their own (the order renderJson writes).
   */
  function declarationOrder(properties: readonly ts.Symbol[]): string[] | undefined {
    if (properties.some((p) => !p.valueDeclaration || !ts.isPropertySignature(p.valueDeclaration))) return undefined;
    const parentOf = (p: ts.Symbol): string => {
      const parent = p.valueDeclaration?.parent;
      return parent && ts.isInterfaceDeclaration(parent) ? parent.name.text : "";
    };
    const names = properties.map((p) => p.name);
    if (!properties.some((p) => parentOf(p) === "StepBase")) return names;
    const base = properties.filter((p) => parentOf(p) === "StepBase").map((p) => p.name);
    const own = properties.filter((p) => parentOf(p) !== "StepBase").map((p) => p.name);
    return ["id", "kind", ...base.filter((n) => n !== "id"), ...own.filter((n) => n !== "kind")];
  }

  /** A union discriminated by `kind`: the schema lists the kinds and has one if/then branch per kind. */
  function compareUnion(members: readonly ts.Type[], schema: Schema, where: string, problems: string[]): void {
    const kinds = members.map((member) => {
      const kind = checker.getPropertyOfType(member, "kind");
      const type = kind && checker.getTypeOfSymbol(kind);
      if (!type?.isStringLiteral()) throw new Error(`${where}: a union the test cannot read (no literal kind)`);
      return type.value;
    });
    const listed = schemaLiterals(schema.properties?.kind ?? {}, root);
    if (JSON.stringify([...kinds].sort()) !== JSON.stringify(listed)) problems.push(`${where}.kind: type has ${[...kinds].sort().join("|")}, schema has ${listed.join("|")}`);
    members.forEach((member, i) => {
      const kind = kinds[i] ?? "";
      const branch = schema.allOf?.find((b) => b.if.properties.kind.const === kind);
      if (!branch) problems.push(`${where}: no schema branch for kind ${kind}`);
      else compare(member, branch.then, `${where}<${kind}>`, problems);
    });
  }
}

describe("the schema's shape equals the Plan type", () => {
  it("has the fields, required flags, field order, types and vocabularies of src/plan/types.ts", () => {
    expect(shapeProblems(SCHEMA)).toEqual([]);
  });

  // The comparison itself must notice drift, or the test above proves nothing.
  it.each<[string, (schema: Schema) => void, string]>([
    ["a step kind missing", (s) => {
      const step = s.definitions?.Step;
      step?.properties?.kind?.enum?.pop();
      step?.allOf?.pop();
    }, "Plan.clusters[].steps[].kind"],
    ["a field missing", (s) => delete s.definitions?.WorkersUpgradeStep?.properties?.batchSize, "fields missing from the schema: batchSize"],
    ["a field the type lacks", (s) => (s.definitions?.Finding?.properties && (s.definitions.Finding.properties.node = { type: "string" })), "fields the type does not have: node"],
    ["an optional field required", (s) => s.definitions?.ClusterPlan?.required?.push("reason"), "Plan.clusters[]: required"],
    ["a vocabulary value missing", (s) => s.definitions?.StepState?.enum?.pop(), "Plan.clusters[].steps[]<backup.snapshot>.state"],
    ["null not allowed", (s) => s.definitions?.BackupScheduleStep?.properties?.schedule && (s.definitions.BackupScheduleStep.properties.schedule.type = "string"), "null allowed by the type, not the schema"],
    ["fields out of order", (s) => {
      const source = s.definitions?.GitSource;
      if (source?.properties) source.properties = Object.fromEntries(Object.entries(source.properties).reverse());
    }, "fields in the order"],
    ["a number as a string", (s) => s.definitions?.WorkersUpgradeStep?.properties?.batchSize && (s.definitions.WorkersUpgradeStep.properties.batchSize = { description: "x", type: "string" }), "a number in the type"],
  ])("notices %s", (_name, change, problem) => {
    const schema = structuredClone(SCHEMA);
    change(schema);
    expect(shapeProblems(schema).join("\n")).toContain(problem);
  });
});
