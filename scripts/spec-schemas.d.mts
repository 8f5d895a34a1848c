/** A JSON Schema document as the generators read it. */
export type JsonSchema = Record<string, unknown>;
/** Loads fleet.schema.json and cluster.schema.json from the repository's schemas/ directory. */
export function readSpecSchemas(): { fleet: JsonSchema; cluster: JsonSchema };
