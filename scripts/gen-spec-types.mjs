#!/usr/bin/env node
// Generates src/spec/generated.ts — the TypeScript types of the spec as written in YAML — from the JSON
// Schemas in schemas/, so the schema stays the one source of truth. `--check` exits 1 when the committed
// file differs (the unit test in test/unit/spec/generated.test.ts does the same in memory).
import process from "node:process";
import { URL, fileURLToPath } from "node:url";
import { readSpecSchemas, writeOrCheck } from "./spec-schemas.mjs";

const target = new URL("../src/spec/generated.ts", import.meta.url);

/** Renders the generated module for the given schemas. Deterministic: schema order is output order. */
export function renderSpecTypes(schemas) {
  const out = [
    "/**",
    " * Types of the fleet spec as written in YAML (bosun.dev/v1alpha1), generated from schemas/*.schema.json by",
    " * scripts/gen-spec-types.mjs. Do not edit: change the schema and run `node scripts/gen-spec-types.mjs`.",
    " * The normalized spec, after defaults are merged, is in src/spec/types.ts.",
    " */",
    "",
  ];
  const seen = new Set();
  const emit = (name, schema) => {
    if (seen.has(name)) throw new Error(`two schema definitions are named ${name}`);
    seen.add(name);
    out.push(...declaration(name, schema), "");
  };
  emit("FleetDocument", schemas.fleet);
  for (const [name, def] of Object.entries(schemas.fleet.definitions ?? {})) emit(name, def);
  emit("ClusterDocument", schemas.cluster);
  for (const [name, def] of Object.entries(schemas.cluster.definitions ?? {})) emit(name, def);
  return `${out.join("\n").trimEnd()}\n`;
}

function declaration(name, schema) {
  const doc = comment(schema.description, "");
  if (schema.type === "object" && schema.properties) {
    const lines = [...doc, `export interface ${name} {`];
    const required = new Set(schema.required ?? []);
    for (const [key, prop] of Object.entries(schema.properties)) {
      lines.push(...comment(prop.description, "  "));
      lines.push(`  ${key}${required.has(key) ? "" : "?"}: ${typeOf(prop)};`);
    }
    lines.push("}");
    return lines;
  }
  return [...doc, `export type ${name} = ${typeOf(schema)};`];
}

function comment(text, indent) {
  return text ? [`${indent}/** ${text.replaceAll("*/", "*\\/")} */`] : [];
}

function typeOf(schema) {
  if (schema.$ref) return schema.$ref.slice(schema.$ref.lastIndexOf("/") + 1);
  if ("const" in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.map((type) => single(type, schema)).join(" | ");
}

function single(type, schema) {
  switch (type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array": {
      const item = typeOf(schema.items);
      return item.includes(" | ") ? `(${item})[]` : `${item}[]`;
    }
    case "object":
      if (schema.properties) throw new Error("nested object schemas with properties must be definitions");
      return `Record<string, ${schema.additionalProperties === true || schema.additionalProperties === undefined ? "unknown" : typeOf(schema.additionalProperties)}>`;
    default:
      throw new Error(`unsupported schema type ${String(type)}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeOrCheck(target, renderSpecTypes(readSpecSchemas()), "scripts/gen-spec-types.mjs");
}
