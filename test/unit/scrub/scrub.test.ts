/**
 * The one scrubber (src/scrub.ts): every encoding a chart or a server could turn a secret into is replaced,
 * wherever it sits in a longer text; ordinary text is left alone.
 */
import { describe, expect, it } from "vitest";
import { scrub, scrubSecrets, secretVariants } from "../../../src/scrub.js";

const SECRET = "s3cr3t value/with?&=+chars";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("secretVariants", () => {
  it.each([
    ["itself", SECRET],
    ["base64", b64(SECRET)],
    ["base64 of base64", b64(b64(SECRET))],
    ["URL-safe base64", b64(SECRET).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")],
    ["hex", Buffer.from(SECRET).toString("hex")],
    ["upper-case hex", Buffer.from(SECRET).toString("hex").toUpperCase()],
    ["encodeURIComponent", encodeURIComponent(SECRET)],
    ["Go's url.QueryEscape (Helm's urlquery)", "s3cr3t+value%2Fwith%3F%26%3D%2Bchars"],
    ["JSON-escaped", JSON.stringify(`a"${SECRET}\\`).slice(1, -1)],
  ])("scrubs the secret as %s", (_name, form) => {
    const text = `before ${form} after`;
    expect(scrubSecrets(text, [`a"${SECRET}\\`, SECRET])).toBe("before *** after");
  });

  it.each([0, 1, 2, 3, 4, 5])("scrubs the secret inside a longer base64 text (%i bytes before it)", (prefix) => {
    const encoded = b64(`${"x".repeat(prefix)}password=${SECRET}\nnext=line`);
    const scrubbed = scrubSecrets(`data: ${encoded}`, [SECRET]);
    expect(scrubbed).not.toBe(`data: ${encoded}`);
    // What is left cannot be decoded back into the secret.
    expect(Buffer.from(scrubbed.replace("data: ", "").replaceAll("***", ""), "base64").toString()).not.toContain(SECRET);
  });

  it("leaves out encodings too short to mean anything, but keeps a short secret itself", () => {
    const variants = secretVariants("ab");
    expect(variants).toContain("ab");
    expect(variants).not.toContain("YWI="); // base64 of "ab": 4 characters match all sorts of text
    expect(variants.filter((v) => v !== "ab").every((v) => v.length >= 8)).toBe(true);
    expect(secretVariants("")).toEqual([]);
  });

  it("leaves text without the secret unchanged", () => {
    const text = "cluster alpha: GET /api/v1/nodes: HTTP 500: etcd is down";
    expect(scrubSecrets(text, [SECRET, "another-token-0123456789"])).toBe(text);
  });
});

describe("scrub", () => {
  it("replaces exactly the needles given, longest first", () => {
    expect(scrub("token abcdef and abc", ["abc", "abcdef"], "#")).toBe("token # and #");
    expect(scrub("nothing", [""])).toBe("nothing");
  });
});
