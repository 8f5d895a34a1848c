/** A JSON Schema document as the generators read it. */
export type JsonSchema = Record<string, unknown>;
/** Loads fleet.schema.json and cluster.schema.json from the repository's schemas/ directory. */
export function readSpecSchemas(): { fleet: JsonSchema; cluster: JsonSchema };
/** Writes a generated file, or with `--check` sets exit code 1 when the committed one differs. */
export function writeOrCheck(target: URL, text: string, script: string): void;
