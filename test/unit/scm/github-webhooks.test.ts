import { verify } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { examplesOf, signedWebhook, signWebhookBody } from "../../support/github-webhooks.js";

const SECRET = "test-webhook-secret";

describe("GitHub's published webhook examples", () => {
  it.each([
    ["pull_request", "opened"],
    ["pull_request", "synchronize"],
    ["pull_request", "reopened"],
    ["pull_request", "closed"],
    ["issue_comment", "created"],
  ] as const)("has a %s.%s example the bot can use", (event, action) => {
    const [example] = examplesOf(event, action);
    expect(example?.action).toBe(action);
    expect(example).toHaveProperty("repository.full_name");
    if (event === "pull_request") expect(example).toHaveProperty("pull_request.head.sha");
    else expect(example).toHaveProperty("comment.body");
  });

  it("re-signs an example so GitHub's own verification accepts it, and a wrong secret or a changed body does not", async () => {
    const hook = signedWebhook("pull_request", "synchronize", SECRET, { change: (p) => ({ ...p, number: 7 }) });
    expect(hook.headers["x-github-event"]).toBe("pull_request");
    expect(JSON.parse(hook.body)).toMatchObject({ action: "synchronize", number: 7 });
    const signature = hook.headers["x-hub-signature-256"] ?? "";
    expect(await verify(SECRET, hook.body, signature)).toBe(true);
    expect(await verify("another-secret", hook.body, signature)).toBe(false);
    expect(await verify(SECRET, hook.body.replace('"number":7', '"number":8'), signature)).toBe(false);
    expect(signWebhookBody("{}", SECRET)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it("refuses an example the package does not publish", () => {
    expect(() => signedWebhook("issue_comment", "pinned", SECRET)).toThrow(/no issue_comment\.pinned example/);
  });
});
