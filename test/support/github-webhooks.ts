/**
 * GitHub's published example webhook payloads (`@octokit/webhooks-examples`), re-signed with a test
 * secret, for tests of `POST /hooks/github`: the body is the example exactly as published (serialised
 * once), the headers are the ones GitHub sends (`X-GitHub-Event`, `X-GitHub-Delivery`,
 * `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`), so a test never hand-writes a payload.
 */
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** One event's entry in the examples package. */
interface ExampleEntry {
  name: string;
  actions: string[];
  examples: Record<string, unknown>[];
}

/** The events bosun's pull-request bot takes. */
export type BotEvent = "pull_request" | "issue_comment";

/** A webhook delivery ready to POST. */
export interface SignedWebhook {
  event: string;
  action: string | undefined;
  /** The payload as an object, for assertions (`payload.pull_request.head.sha`). */
  payload: Record<string, unknown>;
  /** The exact bytes to send; the signature is over these. */
  body: string;
  headers: Record<string, string>;
}

let examples: ExampleEntry[] | undefined;

/** Every published example of api.github.com, grouped by event. */
export function webhookExamples(): ExampleEntry[] {
  examples ??= require("@octokit/webhooks-examples/api.github.com/index.json") as ExampleEntry[];
  return examples;
}

/** The published examples of `event` with `action` (all of the event's when `action` is undefined). */
export function examplesOf(event: string, action?: string): Record<string, unknown>[] {
  const entry = webhookExamples().find((e) => e.name === event);
  if (entry === undefined) throw new Error(`@octokit/webhooks-examples has no ${event} examples`);
  const list = entry.examples.filter((e) => action === undefined || e.action === action);
  if (list.length === 0) throw new Error(`@octokit/webhooks-examples has no ${event}.${action ?? ""} example`);
  return list;
}

/** `sha256=<hex HMAC-SHA256 of body with secret>`, GitHub's `X-Hub-Signature-256`. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${crypto.createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** Options of {@link signedWebhook}. */
export interface SignedWebhookOptions {
  /** Which of the matching examples (0 = the first). */
  index?: number;
  /** Changes to the example before it is serialised and signed (a repository, a head SHA). */
  change?: (payload: Record<string, unknown>) => Record<string, unknown>;
  /** The delivery id; a fixed one by default, so tests are deterministic. */
  delivery?: string;
}

/**
 * A published example of `event` (with `action`) re-signed with `secret`: POST `body` with `headers`.
 * Throws when the package has no such example, so a test cannot silently send something made up.
 */
export function signedWebhook(event: BotEvent, action: string, secret: string, options: SignedWebhookOptions = {}): SignedWebhook {
  const list = examplesOf(event, action);
  const example = list[options.index ?? 0];
  if (example === undefined) throw new Error(`@octokit/webhooks-examples has ${list.length} ${event}.${action} examples, not ${(options.index ?? 0) + 1}`);
  const copy = structuredClone(example);
  const payload = options.change ? options.change(copy) : copy;
  const body = JSON.stringify(payload);
  return {
    event,
    action: typeof payload.action === "string" ? payload.action : undefined,
    payload,
    body,
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/bosun-test",
      "x-github-event": event,
      "x-github-delivery": options.delivery ?? "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      "x-github-hook-id": "1",
      "x-hub-signature-256": signWebhookBody(body, secret),
    },
  };
}
