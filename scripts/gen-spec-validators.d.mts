import type { JsonSchema } from "./spec-schemas.mjs";
/** Renders src/spec/validators.generated.ts for the given schemas. */
export function renderSpecValidators(schemas: { fleet: JsonSchema; cluster: JsonSchema }): string;
