import type { JsonSchema } from "./spec-schemas.mjs";
/** Renders docs/spec.md for the given schemas. */
export function renderSpecDocs(schemas: { fleet: JsonSchema; cluster: JsonSchema }): string;
