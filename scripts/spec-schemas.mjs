// Reads bosun's spec schemas from schemas/. Shared by the type and docs generators and the benchmark.
import fs from "node:fs";
import path from "node:path";
import { URL, fileURLToPath } from "node:url";

const dir = new URL("../schemas/", import.meta.url);

/** Loads fleet.schema.json and cluster.schema.json from the repository's schemas/ directory. */
export function readSpecSchemas() {
  const read = (name) => JSON.parse(fs.readFileSync(new URL(name, dir), "utf8"));
  return { fleet: read("fleet.schema.json"), cluster: read("cluster.schema.json") };
}

/**
 * The command-line end of every generator: writes `text` to `target`, or with `--check` fails (exit 1)
 * when the committed file differs, naming the script that regenerates it.
 */
export function writeOrCheck(target, text, script) {
  const file = fileURLToPath(target);
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
    if (current !== text) {
      process.stderr.write(`${path.relative(process.cwd(), file)} is stale: run node ${script}\n`);
      process.exitCode = 1;
    }
  } else {
    fs.writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
