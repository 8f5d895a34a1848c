/**
 * The bounded YAML parser (`src/bounded-yaml.ts`) on hostile input: duplicate keys found in one pass,
 * alias bombs and deep nesting refused as problems (never thrown), a budget shared across parses, and no
 * key reaching a prototype.
 */
import { describe, expect, it } from "vitest";
import { parseBoundedYaml, parseSingleYaml, YamlBudget } from "../../../src/bounded-yaml.js";

/** A block map of `count` distinct keys, then `extra` lines. */
function bigMap(count: number, extra = ""): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1) lines.push(`k${i}: ${i}`);
  return `${lines.join("\n")}\n${extra}`;
}

/** The classic "billion laughs": each level is ten aliases of the one before. */
function billionLaughs(levels: number): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= levels; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

describe("parseBoundedYaml", () => {
  it("finds a duplicate among 100,000 keys and names it with its line", () => {
    const text = bigMap(100_000, "k99999: again\n");
    const parsed = parseBoundedYaml(text, { limits: { maxNodes: 200_000, maxBytes: 4 * 1024 * 1024 } });
    expect(parsed.documents).toEqual([]);
    expect(parsed.problems).toEqual([
      { line: 100_001, col: 1, path: "k99999", message: 'YAML: Map keys must be unique: "k99999" appears twice', document: 0 },
    ]);
  });

  it("parses a map of 100,000 distinct keys completely", () => {
    const parsed = parseBoundedYaml(bigMap(100_000), { limits: { maxNodes: 200_000, maxBytes: 4 * 1024 * 1024 } });
    expect(parsed.problems).toEqual([]);
    const value = parsed.documents[0]?.value as Record<string, number>;
    expect(Object.keys(value)).toHaveLength(100_000);
    expect(value.k12345).toBe(12_345);
  });

  it("refuses a billion laughs at the node limit", () => {
    const parsed = parseBoundedYaml(billionLaughs(9), { limits: { maxAliases: 1_000_000 } });
    expect(parsed.documents).toEqual([]);
    expect(parsed.problems.map((p) => p.message)).toEqual(["document expands to more than 100000 YAML nodes"]);
  });

  it("refuses more aliases than allowed", () => {
    const parsed = parseBoundedYaml(billionLaughs(3));
    expect(parsed.problems.map((p) => p.message)).toEqual(["more than 100 YAML aliases in one document"]);
  });

  it("refuses deep nesting as a problem, flow and block alike", () => {
    for (const text of ["[".repeat(100_000), `${"- ".repeat(200)}x\n`, `${"{a: ".repeat(70)}1${"}".repeat(70)}`]) {
      const parsed = parseBoundedYaml(text);
      expect(parsed.documents).toEqual([]);
      expect(parsed.problems.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ["a million [", `a: ${"[".repeat(1_000_000)}`, "flow collections ([ ] and { }) nested more than 1000 levels deep"],
    ["250,000 document markers", "---\n".repeat(250_000), "more than 1000 YAML documents"],
    ["400,000 compact block indicators", `${"- ".repeat(400_000)}x\n`, "nesting deeper than 64 levels"],
  ])("refuses %s before parsing", (_name, text, message) => {
    expect(parseBoundedYaml(text).problems).toEqual([{ line: 1, col: 1, path: "", message, document: undefined }]);
  });

  it("counts only real document markers and keeps balanced flow collections", () => {
    const text = `a: |\n  ---\n  ---\nb: [${"[1], ".repeat(2_000)}[1]]\nc: ${"[".repeat(300)}${"]".repeat(300)}\n`;
    const parsed = parseSingleYaml(text, { limits: { maxDepth: 1_000, maxNodes: 1_000_000 } });
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && (parsed.value as { a: string }).a).toBe("---\n---\n");
  });

  it("refuses a text over the byte limit before parsing it", () => {
    const parsed = parseBoundedYaml("a: 1\n".repeat(100), { limits: { maxBytes: 100 } });
    expect(parsed.problems).toEqual([{ line: 1, col: 1, path: "", message: "larger than 100 bytes", document: undefined }]);
  });

  it("shares a budget across parses: the run stops at the total", () => {
    const budget = new YamlBudget(1024 * 1024, 250);
    const first = parseBoundedYaml(bigMap(200), { budget });
    expect(first.problems).toEqual([]);
    const second = parseBoundedYaml(bigMap(200), { budget });
    expect(second.problems.map((p) => p.message)).toEqual(["the YAML read in this run would expand to more than 250 nodes in total"]);
    const bytes = new YamlBudget(1000, 1_000_000);
    expect(parseBoundedYaml("- 1\n".repeat(150), { budget: bytes }).problems).toEqual([]);
    expect(parseBoundedYaml("- 1\n".repeat(150), { budget: bytes }).problems.map((p) => p.message)).toEqual([
      "the YAML read in this run would exceed 1000 bytes in total",
    ]);
  });

  it("refuses a __proto__ key and keeps constructor and prototype as plain data", () => {
    const refused = parseBoundedYaml("a:\n  __proto__:\n    shell: /bin/sh\n");
    expect(refused.problems).toEqual([{ line: 2, col: 3, path: "a.__proto__", message: 'a map key may not be "__proto__"', document: 0 }]);
    const kept = parseSingleYaml("constructor: {prototype: {shell: /bin/sh}}\n");
    expect(kept.ok).toBe(true);
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("shell");
    const value = kept.ok ? (kept.value as Record<string, unknown>) : {};
    expect(Object.hasOwn(value, "constructor")).toBe(true);
    expect(value.constructor).toEqual({ prototype: { shell: "/bin/sh" } });
  });

  it("parseSingleYaml refuses a second document", () => {
    const parsed = parseSingleYaml("a: 1\n---\nb: 2\n");
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem.message).toBe("more than 1 YAML documents");
  });
});
