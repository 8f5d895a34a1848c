/**
 * The schemas are the one source of truth: the TypeScript types of the written spec and the field reference
 * are generated from them, and these tests fail when a committed copy is stale.
 */
import fs from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { renderSpecDocs } from "../../../scripts/gen-spec-docs.mjs";
import { renderSpecTypes } from "../../../scripts/gen-spec-types.mjs";
import { renderSpecValidators } from "../../../scripts/gen-spec-validators.mjs";
import { readSpecSchemas } from "../../../scripts/spec-schemas.mjs";

const root = new URL("../../../", import.meta.url);

describe("generated from the schemas", () => {
  it("src/spec/generated.ts is current (run node scripts/gen-spec-types.mjs)", async () => {
    expect(await fs.readFile(new URL("src/spec/generated.ts", root), "utf8")).toBe(renderSpecTypes(readSpecSchemas()));
  });

  it("src/spec/validators.generated.ts is current (run node scripts/gen-spec-validators.mjs)", async () => {
    expect(await fs.readFile(new URL("src/spec/validators.generated.ts", root), "utf8")).toBe(renderSpecValidators(readSpecSchemas()));
  });

  it("docs/spec.md is current (run node scripts/gen-spec-docs.mjs)", async () => {
    expect(await fs.readFile(new URL("docs/spec.md", root), "utf8")).toBe(renderSpecDocs(readSpecSchemas()));
  });

  it("every field of every schema has a description", () => {
    const missing: string[] = [];
    const visit = (schema: Record<string, unknown>, where: string): void => {
      for (const [key, prop] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (prop.$ref === undefined && typeof prop.description !== "string") missing.push(`${where}.${key}`);
      }
      for (const [name, def] of Object.entries((schema.definitions ?? {}) as Record<string, Record<string, unknown>>)) {
        if (typeof def.description !== "string") missing.push(name);
        visit(def, name);
      }
    };
    const schemas = readSpecSchemas();
    visit(schemas.fleet, "Fleet");
    visit(schemas.cluster, "Cluster");
    expect(missing).toEqual([]);
  });

  it("objects with fixed fields forbid unknown ones", () => {
    const open: string[] = [];
    const schemas = readSpecSchemas();
    const definitions: Record<string, Record<string, unknown>> = {
      ...(schemas.fleet.definitions as Record<string, Record<string, unknown>>),
      ...(schemas.cluster.definitions as Record<string, Record<string, unknown>>),
    };
    for (const [name, def] of Object.entries(definitions)) {
      if (def.properties !== undefined && def.additionalProperties !== false) open.push(name);
    }
    expect(open).toEqual([]);
  });
});
