import type { JsonSchema } from "./spec-schemas.mjs";
/** Renders src/spec/generated.ts for the given schemas. */
export function renderSpecTypes(schemas: { fleet: JsonSchema; cluster: JsonSchema }): string;
