/**
 * The credentials one connection sends, as strings to scrub from whatever the API server answers: a
 * server (hostile, or a buggy proxy in front of it) may echo the request's `Authorization` header in an
 * error message, and that message would otherwise reach plans, logs and PR comments.
 */
import type https from "node:https";
import type * as k8s from "@kubernetes/client-node";

/**
 * The secrets of a connection: the `Authorization` header as sent (and the token or basic-auth password
 * in it), the kubeconfig user's token and password, and the client key (its PEM and each base64 line of
 * it). `options` are the request options after the kubeconfig (and any credential plugin) filled them in,
 * so a token an exec plugin produced is included too.
 */
export function connectionSecrets(user: k8s.User | null, options: https.RequestOptions): string[] {
  const secrets: string[] = [];
  const authorization = headerValue(options.headers, "authorization");
  if (authorization !== undefined) {
    secrets.push(authorization);
    const [scheme, credential] = splitOnce(authorization, " ");
    if (credential !== undefined && credential !== "") {
      secrets.push(credential);
      if (scheme.toLowerCase() === "basic") secrets.push(...basicSecrets(Buffer.from(credential, "base64").toString("utf8")));
    }
  }
  if (user?.token) secrets.push(user.token);
  if (user?.password) secrets.push(user.password, ...(user.username ? [`${user.username}:${user.password}`] : []));
  if (user?.keyData) secrets.push(user.keyData);
  for (const key of [options.key].flat()) {
    const pem = keyText(key);
    if (pem !== undefined) secrets.push(pem, ...pemLines(pem));
  }
  if (typeof options.passphrase === "string") secrets.push(options.passphrase);
  return [...new Set(secrets.filter((s) => s.length >= 4))];
}

function headerValue(headers: https.RequestOptions["headers"], name: string): string | undefined {
  if (headers === undefined || Array.isArray(headers)) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === "string") return value;
    if (Array.isArray(value)) return value.join(", ");
  }
  return undefined;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length).trim()];
}

/** `user:password` decoded from a basic-auth header: the whole pair and the password. */
function basicSecrets(decoded: string): string[] {
  const colon = decoded.indexOf(":");
  return colon < 0 ? [decoded] : [decoded, decoded.slice(colon + 1)];
}

function keyText(key: unknown): string | undefined {
  if (typeof key === "string") return key;
  if (Buffer.isBuffer(key)) return key.toString("utf8");
  if (typeof key === "object" && key !== null && "pem" in key) return keyText((key).pem);
  return undefined;
}

/** The base64 lines of a PEM body: a message quoting part of a key quotes whole lines. */
function pemLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith("-----"));
}
