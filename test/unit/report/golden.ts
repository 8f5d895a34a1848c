/**
 * Golden files for the renderers: the test fails on any difference from `golden/<name>`; run with
 * UPDATE_GOLDEN=1 to rewrite the files after an intended change (and review the diff).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";

const DIR = path.join(import.meta.dirname, "golden");

/** Compares `actual` with the golden file `name`, or rewrites it when UPDATE_GOLDEN=1. */
export async function expectGolden(name: string, actual: string): Promise<void> {
  const file = path.join(DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") {
    await fs.mkdir(DIR, { recursive: true });
    await fs.writeFile(file, actual);
  }
  const expected = await fs.readFile(file, "utf8").catch(() => {
    throw new Error(`golden file ${path.relative(process.cwd(), file)} is missing: run the test with UPDATE_GOLDEN=1`);
  });
  expect(actual).toBe(expected);
}
