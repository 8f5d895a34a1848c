/**
 * The bearer tokens of the daemon's mutating API. Each token has a name — the name, never the token, is
 * what approvals and pauses record and what logs show. Tokens come from a file (`name token` per line,
 * `#` comments, blank lines ignored) and/or one value from the environment, named `default`.
 *
 * A token is compared with every configured token in constant time (SHA-256 digests of equal length
 * through `timingSafeEqual`, and every token is compared whether or not one matched already), so neither
 * the timing nor the answer says which tokens exist. No error or log line carries a token.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidInputError } from "../errors.js";
import { readRegularFile } from "../bounded-file.js";
import { visibleLine } from "../report/format.js";

/** The largest token file read: a few hundred tokens fit in a fraction of it. */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** The shortest token accepted: a guessable token is worse than none. */
export const MIN_TOKEN_LENGTH = 16;

/** The name of the token given in the environment. */
export const DEFAULT_TOKEN_NAME = "default";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;
const TOKEN = /^[\x21-\x7e]+$/;

interface Entry {
  name: string;
  digest: Buffer;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Named bearer tokens; build them with {@link loadApiTokens} or {@link ApiTokens.of}. */
export class ApiTokens {
  private constructor(private readonly entries: readonly Entry[]) {}

  /** Tokens from `[name, token]` pairs (already checked); for tests and for {@link loadApiTokens}. */
  static of(pairs: readonly (readonly [string, string])[]): ApiTokens {
    return new ApiTokens(pairs.map(([name, token]) => ({ name, digest: digest(token) })));
  }

  /** The number of tokens: with none, every mutating request is refused. */
  get size(): number {
    return this.entries.length;
  }

  /** The names of the tokens (for a start-up log line; never the tokens). */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /**
   * The name of the token an `Authorization` header carries (`Bearer <token>`, scheme case-insensitive),
   * or null when the header is missing, malformed or carries no configured token.
   */
  authenticate(header: string | undefined): string | null {
    const token = bearerToken(header);
    if (token === null) return null;
    const given = digest(token);
    let found: string | null = null;
    // No early exit: the time taken does not depend on which token matched, or whether one did.
    for (const entry of this.entries) {
      if (timingSafeEqual(given, entry.digest) && found === null) found = entry.name;
    }
    return found;
  }
}

/** The token of a `Bearer` authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1] ?? null;
}

/** Compares two secrets in constant time (for webhook tokens): digests, so lengths never leak. */
export function secretEquals(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Parses a token file's text. Each problem names `file:line` and the name, never the token.
 * Exported for tests; {@link loadApiTokens} reads the file.
 */
export function parseTokenFile(text: string, file: string): [string, string][] {
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  const where = (n: number): string => `${visibleLine(file)}:${n}`;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    const [name = "", token = ""] = fields;
    const n = index + 1;
    if (fields.length !== 2) throw new InvalidInputError(`${where(n)}: expected "name token" (two fields), found ${fields.length}`);
    if (!NAME.test(name)) throw new InvalidInputError(`${where(n)}: token name must be letters, digits, ".", "_", "@" or "-" (at most 63)`);
    if (!TOKEN.test(token)) throw new InvalidInputError(`${where(n)}: token of ${name} must be printable ASCII without spaces`);
    if (token.length < MIN_TOKEN_LENGTH) throw new InvalidInputError(`${where(n)}: token of ${name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
    if (seen.has(name)) throw new InvalidInputError(`${where(n)}: token name ${name} appears twice`);
    seen.add(name);
    pairs.push([name, token]);
  });
  return pairs;
}

/**
 * Loads the API tokens: those of `file` (a regular file of at most {@link MAX_TOKEN_FILE_BYTES}) and the
 * one of `envToken` (named `default`). Either may be absent; with neither, the API refuses every
 * mutating request (401).
 */
export async function loadApiTokens(options: { file?: string; envToken?: string }): Promise<ApiTokens> {
  const pairs: [string, string][] = [];
  if (options.file !== undefined) {
    const read = await readRegularFile(options.file, MAX_TOKEN_FILE_BYTES);
    if (!read.ok) throw new InvalidInputError(`token file ${visibleLine(options.file)}: ${readProblem(read.problem)}`);
    pairs.push(...parseTokenFile(read.text, options.file));
  }
  if (options.envToken !== undefined && options.envToken !== "") {
    const token = options.envToken.trim();
    if (!TOKEN.test(token) || token.length < MIN_TOKEN_LENGTH) {
      throw new InvalidInputError(`the API token from the environment must be at least ${MIN_TOKEN_LENGTH} printable characters without spaces`);
    }
    if (pairs.some(([name]) => name === DEFAULT_TOKEN_NAME)) {
      throw new InvalidInputError(`the token file names a token "${DEFAULT_TOKEN_NAME}", the name of the token from the environment`);
    }
    pairs.push([DEFAULT_TOKEN_NAME, token]);
  }
  return ApiTokens.of(pairs);
}

function readProblem(problem: "missing" | "not-regular" | "too-large" | "unreadable"): string {
  switch (problem) {
    case "missing":
      return "does not exist";
    case "not-regular":
      return "is not a regular file";
    case "too-large":
      return `is larger than ${MAX_TOKEN_FILE_BYTES} bytes`;
    case "unreadable":
      return "cannot be read";
  }
}
