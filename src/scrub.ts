/**
 * The second line of defence for secrets in text: replaces every known secret, and every encoding of it a
 * template or a server could produce, in a message or a diff. The first line is structural masking
 * (`src/report/mask.ts`) and never quoting what could hold a secret; this catches what slips past both —
 * a chart that copies a secret value into a ConfigMap through `b64enc | b64enc` or `printf "%x"`, an API
 * server whose error message echoes the `Authorization` header. Shared by the Git source, the API client
 * and the add-on observers, so all three scrub the same forms.
 */

/** How a scrubbed secret reads by default. */
export const SCRUBBED = "***";

/** Encoded forms shorter than this are not scrubbed: they match too much ordinary text to mean anything. */
const MIN_VARIANT_LENGTH = 8;

/**
 * Every form in which `secret` could appear in text: itself, base64 (standard and URL-safe, whole and as it
 * reads inside a longer base64 text at each of the three byte alignments), base64 of base64, hex (lower and
 * upper case), URL-encoded (`encodeURIComponent` and Go's `url.QueryEscape`, which Helm's `urlquery` uses)
 * and JSON-escaped. Forms shorter than 8 characters are left out (except the secret itself).
 */
export function secretVariants(secret: string): string[] {
  if (secret === "") return [];
  const bytes = Buffer.from(secret, "utf8");
  const base64 = bytes.toString("base64");
  const forms = [
    secret,
    ...base64Forms(bytes),
    ...base64Forms(Buffer.from(base64, "latin1")),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
    encodeURIComponent(secret),
    queryEscape(secret),
    JSON.stringify(secret).slice(1, -1),
  ];
  return [...new Set(forms)].filter((form) => form === secret || form.length >= MIN_VARIANT_LENGTH);
}

/**
 * Replaces every variant of every secret in `text` with `replacement`, longest first (so a secret that
 * contains another is replaced whole). Empty secrets are ignored.
 */
export function scrubSecrets(text: string, secrets: readonly string[], replacement = SCRUBBED): string {
  return scrub(text, [...new Set(secrets.flatMap(secretVariants))], replacement);
}

/**
 * Replaces each of `needles` exactly as given (no encodings added), longest first. For callers that have
 * already listed every form, such as the Git source's basic-auth header.
 */
export function scrub(text: string, needles: readonly string[], replacement = SCRUBBED): string {
  let out = text;
  for (const needle of [...needles].filter((n) => n !== "").sort((a, b) => b.length - a.length)) {
    out = out.split(needle).join(replacement);
  }
  return out;
}

/**
 * The base64 of `bytes` whole (padded), URL-safe, and the part of it that stays the same wherever the
 * bytes sit in a longer base64 text: at byte offset 1 or 2 the first quantum mixes in the bytes before it,
 * and the last quantum mixes in the bytes after, so only the full quanta in between are fixed.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    if (offset === 0) forms.push(encoded);
    const start = offset === 0 ? 0 : 4;
    const end = Math.floor((offset + bytes.length) / 3) * 4;
    if (end > start) forms.push(encoded.slice(start, end));
  }
  return forms.flatMap((form) => [form, form.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")]);
}

/** Go's `url.QueryEscape`: every byte but letters, digits and `-_.~` percent-encoded, space as `+`. */
function queryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll("%20", "+");
}
