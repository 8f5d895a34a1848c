/**
 * The generic webhook receiver: bosun's JSON payload ({@link alertPayload}), signed when the receiver has a
 * key: `X-Bosun-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`, as GitHub signs its
 * webhooks, so a receiver can check it with the same few lines (docs/alerts.md).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { postJson, type PostResult, type RetryPolicy, type Sleep } from "./http.js";
import { alertPayload } from "./payload.js";
import type { AlertCondition, AlertStatus, ResolvedReceiver } from "./types.js";

/** The header carrying the signature. */
export const SIGNATURE_HEADER = "X-Bosun-Signature";

/** `sha256=<hex>` of `body` under `secret`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** Whether `signature` is `body`'s under `secret`, compared in constant time (what a receiver does). */
export function verifySignature(body: string, secret: string, signature: string): boolean {
  const expected = Buffer.from(signBody(body, secret), "utf8");
  const given = Buffer.from(signature, "utf8");
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** How a delivery is carried out: retries, the clock's sleep, cancellation. */
export interface DeliveryContext {
  retry: RetryPolicy;
  sleep: Sleep;
  signal?: AbortSignal;
  now: Date;
}

/** The request a webhook receiver gets: the body exactly as sent, and its headers. */
export function webhookRequest(target: ResolvedReceiver, condition: AlertCondition, status: AlertStatus, now: Date): { body: string; headers: Record<string, string> } {
  const payload = alertPayload(condition, status, now);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { "X-Bosun-Event": payload.event };
  if (target.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(body, target.secret);
  return { body, headers };
}

/** POSTs the payload to a generic webhook. */
export async function deliverWebhook(target: ResolvedReceiver, condition: AlertCondition, status: AlertStatus, context: DeliveryContext): Promise<PostResult> {
  const { body, headers } = webhookRequest(target, condition, status, context.now);
  return postJson({ receiver: target.receiver.name, url: target.url, body, headers, retry: context.retry, sleep: context.sleep, ...(context.signal ? { signal: context.signal } : {}) });
}
