/**
 * `--repo` and `--ref` validation: what is accepted, what is refused and why, and that a refused value
 * which may hold a secret is never echoed.
 */
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { parseRef, parseRepoLocation, redactLocation, refProblem } from "../../../src/source/validate.js";

function refusal(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error("expected a refusal");
}

describe("parseRepoLocation", () => {
  it.each([
    ["https://github.com/acme/fleet.git", "https://github.com/acme/fleet.git"],
    ["https://GitHub.COM/acme/fleet.git/", "https://github.com/acme/fleet.git"],
    ["http://127.0.0.1:8080/fleet.git", "http://127.0.0.1:8080/fleet.git"],
    ["HTTPS://gitlab.example.com:443/group/sub/fleet", "https://gitlab.example.com/group/sub/fleet"],
    ["https://[::1]:3000/fleet.git", "https://[::1]:3000/fleet.git"],
  ])("accepts the URL %s as %s", (raw, url) => {
    expect(parseRepoLocation(raw)).toEqual({ kind: "url", url });
  });

  it.each([
    ["/srv/git/fleet.git", "/srv/git/fleet.git"],
    ["./fleet", "/work/fleet"],
    ["../other/fleet", "/other/fleet"],
    ["fleet", "/work/fleet"],
    ["./host:path", "/work/host:path"],
    ["dir/with:colon", "/work/dir/with:colon"],
  ])("accepts the local path %s", (raw, resolved) => {
    expect(parseRepoLocation(raw, "/work")).toEqual({ kind: "path", path: resolved });
  });

  it.each([
    ["ssh://git@github.com/acme/fleet.git", /SSH is refused/],
    ["git+ssh://github.com/acme/fleet.git", /SSH is refused/],
    ["git://github.com/acme/fleet.git", /git:\/\/ protocol is unauthenticated/],
    ["file:///srv/git/fleet.git", /file:\/\/ URLs are refused; give the repository's directory as a path/],
    ["ftp://example.com/fleet.git", /unsupported scheme ftp:\/\//],
    ["ext::sh -c touch% /tmp/pwned", /remote helpers/],
    ["fd::17", /remote helpers/],
    ["git@github.com:acme/fleet.git", /SSH addresses are refused.*use "https:\/\/github\.com\/acme\/fleet\.git"/],
    ["github.com:acme/fleet.git", /SSH addresses are refused/],
    ["-uhttps://example.com/x", /must not begin with "-"/],
    ["--upload-pack=touch /tmp/x", /must not begin with "-"/],
    ["", /empty/],
    ["https://exa\nmple.com/fleet.git", /control characters/],
    ["https://example.com/fleet.git?private_token=abc", /query strings and fragments are not supported/],
    ["https://example.com/fleet.git#main", /query strings and fragments are not supported/],
    ["https:///fleet.git", /no host/],
    ["https:/example.com/fleet.git", /not a valid URL/],
    ["https://exa mple.com/fleet.git", /not a valid URL/],
  ])("refuses %j", (raw, message) => {
    const error = refusal(() => parseRepoLocation(raw, "/work"));
    expect(error.message).toMatch(/^--repo/);
    expect(error.message).toMatch(message);
  });

  it.each([
    ["https://fleet-bot:s3cr3t-pass@github.com/acme/fleet.git", ["s3cr3t-pass", "fleet-bot"]],
    ["https://ghp_T0KENvalue@github.com/acme/fleet.git", ["ghp_T0KENvalue"]],
    ["http://user:p%40ss@127.0.0.1:9/fleet.git", ["p%40ss", "p@ss", "user"]],
    ["https://x-access-token:tok3n@example.com/fleet.git?tok3n", ["tok3n"]],
  ])("refuses embedded credentials in %s without echoing them", (raw, secrets) => {
    const error = refusal(() => parseRepoLocation(raw));
    expect(error.message).toMatch(/embedded credentials are refused|query strings/);
    expect(error.message).toMatch(/BOSUN_GIT_TOKEN|query/);
    for (const secret of secrets) expect(error.message).not.toContain(secret);
  });

  it("never echoes a query string, which may hold a token", () => {
    const error = refusal(() => parseRepoLocation("https://example.com/fleet.git?access_token=glpat-SECRET"));
    expect(error.message).not.toContain("glpat-SECRET");
    expect(error.message).toContain("https://example.com/fleet.git?…");
  });
});

describe("redactLocation", () => {
  it.each([
    ["https://u:p@host/x", "https://***@host/x"],
    ["https://host/x?token=1#y", "https://host/x?…"],
    ["https://a@b@host/x", "https://***@host/x"],
    ["/local/path@1", "/local/path@1"],
    ["https://host/x\u0007", "https://host/x\ufffd"],
  ])("%j → %j", (raw, shown) => {
    expect(redactLocation(raw)).toBe(shown);
  });
});

describe("parseRef", () => {
  it.each([
    ["main", { kind: "name", name: "main" }],
    ["feature/new-addon", { kind: "name", name: "feature/new-addon" }],
    ["v1.2.3", { kind: "name", name: "v1.2.3" }],
    ["release-1.34", { kind: "name", name: "release-1.34" }],
    ["HEAD", { kind: "name", name: "HEAD" }],
    ["refs/heads/main", { kind: "name", name: "refs/heads/main" }],
    ["refs/tags/v1", { kind: "name", name: "refs/tags/v1" }],
    ["refs/pull/42/head", { kind: "name", name: "refs/pull/42/head" }],
    ["deadbee", { kind: "name", name: "deadbee" }],
    ["0123456789abcdef0123456789abcdef01234567", { kind: "commit", oid: "0123456789abcdef0123456789abcdef01234567" }],
    ["0123456789ABCDEF0123456789ABCDEF01234567", { kind: "commit", oid: "0123456789abcdef0123456789abcdef01234567" }],
    ["ünïcode-branch", { kind: "name", name: "ünïcode-branch" }],
  ])("accepts %j", (raw, spec) => {
    expect(parseRef(raw)).toEqual(spec);
  });

  it.each([
    ["", /empty/],
    ["-b", /must not begin with "-"/],
    ["--upload-pack=evil", /must not begin with "-"/],
    ["main..other", /contains "\.\."/],
    ["../../etc/passwd", /contains "\.\."/],
    ["ma in", /contains a space/],
    ["main\n", /control characters/],
    ["tab\there", /control characters/],
    ["del\u007f", /control characters/],
    ["main~1", /contains "~"/],
    ["main^", /contains "\^"/],
    ["a:b", /contains ":"/],
    ["what?", /contains "\?"/],
    ["glob*", /contains "\*"/],
    ["[x", /contains "\["/],
    ["back\\slash", /contains "\\\\"/],
    ["main@{1}", /contains "@\{"/],
    ["@", /is "@"/],
    ["/main", /begin or end with "\/"/],
    ["main/", /begin or end with "\/"/],
    ["feature//x", /contains "\/\/"/],
    ["main.", /must not end with "\."/],
    [".hidden", /beginning with "\."/],
    ["feature/.x", /beginning with "\."/],
    ["main.lock", /ending with "\.lock"/],
    ["a/b.lock/c", /ending with "\.lock"/],
    ["x".repeat(256), /longer than 255/],
  ])("refuses %j", (raw, message) => {
    const error = refusal(() => parseRef(raw));
    expect(error.message).toMatch(/^--ref /);
    expect(error.message).toMatch(message);
    expect(refProblem(raw)).toBeDefined();
  });
});
