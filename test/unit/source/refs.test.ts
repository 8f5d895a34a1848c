/** Which ref a `--ref` name means, against a listing like the one `git ls-remote` returns. */
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { matchRef, type ListedRef } from "../../../src/source/refs.js";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const T1 = "a".repeat(40);

const listing: ListedRef[] = [
  { ref: "HEAD", oid: C1, target: "refs/heads/main" },
  { ref: "refs/heads/main", oid: C1 },
  { ref: "refs/heads/feature/x", oid: C2 },
  { ref: "refs/heads/both", oid: C1 },
  { ref: "refs/tags/both", oid: C2 },
  { ref: "refs/tags/v1", oid: T1, peeled: C2 },
  { ref: "refs/tags/light", oid: C1 },
  { ref: "refs/pull/7/head", oid: C2 },
  { ref: "refs/remotes/origin/main", oid: C2 },
];

describe("matchRef", () => {
  it.each([
    ["main", { fullref: "refs/heads/main", kind: "branch", oid: C1, peeled: undefined }],
    ["feature/x", { fullref: "refs/heads/feature/x", kind: "branch", oid: C2, peeled: undefined }],
    ["v1", { fullref: "refs/tags/v1", kind: "tag", oid: T1, peeled: C2 }],
    ["light", { fullref: "refs/tags/light", kind: "tag", oid: C1, peeled: undefined }],
    ["HEAD", { fullref: "refs/heads/main", kind: "branch", oid: C1, peeled: undefined }],
    ["refs/heads/both", { fullref: "refs/heads/both", kind: "branch", oid: C1, peeled: undefined }],
    ["refs/tags/both", { fullref: "refs/tags/both", kind: "tag", oid: C2, peeled: undefined }],
    ["refs/pull/7/head", { fullref: "refs/pull/7/head", kind: "other", oid: C2, peeled: undefined }],
  ])("resolves %s", (name, expected) => {
    expect(matchRef(name, listing, "https://h/fleet.git")).toEqual(expected);
  });

  it.each([
    ["nope", /ref nope not found in https:\/\/h\/fleet\.git \(branches: both, feature\/x, main; tags: both, light, v1\)/],
    ["both", /both a branch and a tag in https:\/\/h\/fleet\.git; give refs\/heads\/both or refs\/tags\/both/],
    ["refs/heads/nope", /ref refs\/heads\/nope not found/],
    ["deadbee", /abbreviated commit id is not enough: give all 40 hex digits/],
    ["origin/main", /ref origin\/main not found/],
  ])("refuses %s", (name, message) => {
    let caught: unknown;
    try {
      matchRef(name, listing, "https://h/fleet.git");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as Error).message).toMatch(new RegExp(`^--ref "${name.replace(/\//g, "\\/")}"`));
    expect((caught as Error).message).toMatch(message);
  });

  it("accepts remote-tracking refs only when asked to (local repositories)", () => {
    expect(matchRef("origin/main", listing, "/repo", { remoteTracking: true })).toMatchObject({ fullref: "refs/remotes/origin/main", kind: "other" });
  });

  it("says when the repository is empty, and shows no malformed names from the server", () => {
    expect(() => matchRef("main", [], "https://h/empty.git")).toThrow(/the repository has no branches or tags/);
    const hostile: ListedRef[] = [{ ref: "refs/heads/\u001b[31mred", oid: C1 }, { ref: "refs/heads/ok", oid: C1 }];
    expect(() => matchRef("x", hostile, "https://h/x.git")).toThrow(/branches: ok; tags: none\)$/);
  });

  it("ignores a malformed HEAD target from the server", () => {
    expect(matchRef("HEAD", [{ ref: "HEAD", oid: C1, target: "refs/heads/../../x" }], "https://h/x.git").fullref).toBe("HEAD");
  });

  it("lists at most ten names", () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ ref: `refs/tags/v${String(i).padStart(2, "0")}`, oid: C1 }));
    expect(() => matchRef("x", many, "u")).toThrow(/tags: v00, v01, v02, v03, v04, v05, v06, v07, v08, v09, … \(12 in all\)\)/);
  });
});
