// Reads bosun's spec schemas from schemas/. Shared by the type and docs generators and the benchmark.
import fs from "node:fs";
import { URL } from "node:url";

const dir = new URL("../schemas/", import.meta.url);

/** Loads fleet.schema.json and cluster.schema.json from the repository's schemas/ directory. */
export function readSpecSchemas() {
  const read = (name) => JSON.parse(fs.readFileSync(new URL(name, dir), "utf8"));
  return { fleet: read("fleet.schema.json"), cluster: read("cluster.schema.json") };
}
