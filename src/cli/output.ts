/**
 * How the CLI prints. Almost everything it prints can carry content it does not control — cluster, wave
 * and add-on names from the fleet repository, spec problems quoting a bad value, a tool's stderr, an API
 * server's message — so every write goes through `visible` (src/report/format.ts), the one escaping
 * function: a control character becomes `\xHH` and can never retitle, clear or otherwise drive the
 * terminal. The only exception is the coloured text plan, whose renderer escapes the plan's content itself
 * and then adds the colour codes on purpose.
 */
import { visible, visibleJson } from "../report/format.js";

/** Prints text to stdout with every control character but newline and tab made visible. */
export function print(text: string): void {
  process.stdout.write(visible(text));
}

/** Prints text to stderr with every control character but newline and tab made visible. */
export function printError(text: string): void {
  process.stderr.write(visible(text));
}

/** Prints a value as indented JSON (and a newline) to stdout; control characters stay `\u` escapes. */
export function printJson(value: unknown): void {
  process.stdout.write(`${visibleJson(JSON.stringify(value, null, 2))}\n`);
}

/**
 * Prints the output of a renderer that escapes content itself and may add colour (`renderText` with
 * `color: true`). Anything else goes through {@link print}.
 */
export function printRendered(text: string): void {
  process.stdout.write(text);
}
