/**
 * The operator's chart repository credentials: which URL prefix gets which basic auth, bearer token,
 * client certificate and CA bundle. They come from whoever runs bosun — a file named by
 * `--chart-credentials` / `BOSUN_CHART_CREDENTIALS_FILE`, or the YAML itself in `BOSUN_CHART_CREDENTIALS`
 * (a CI variable or secret) — never from the fleet repository: a pull request that could edit this list
 * could send a password to a host of its choosing.
 *
 * The list holds no secret itself. Each secret is named by an environment variable (`passwordEnv`,
 * `tokenEnv`: a CI secret) or a file (`passwordFile`, `tokenFile`: a mounted Kubernetes Secret, read at
 * the moment of use so that a rotated Secret is picked up); an inline `password` or `token` is refused.
 *
 * ```yaml
 * repositories:
 *   - url: https://charts.example.com/platform
 *     username: bosun
 *     passwordEnv: CHARTS_PASSWORD
 *     caFile: /etc/bosun/charts/ca.crt
 *   - url: oci://registry.example.com/charts
 *     username: robot$bosun
 *     passwordFile: /etc/bosun/registry/password
 * ```
 *
 * A URL gets the entry with the longest prefix it lies under (scheme, host and port equal, path at a `/`
 * boundary: `underPrefix`), so a more specific entry wins and `…/platform` never matches `…/platform-evil`.
 * Credentials are sent only over `https://` and `oci://` (an entry for `http://` is refused).
 */
import { withholdFromChildren } from "../tools/process.js";
import { parseSingleYaml, type YamlWalkHooks, type YamlPosition } from "../bounded-yaml.js";
import { readRegularFile, readRegularFileSync } from "../bounded-file.js";
import { underPrefix } from "../spec/chart-repo-url.js";

/** The variable holding the credentials list itself (YAML or JSON). */
export const CHART_CREDENTIALS_VARIABLE = "BOSUN_CHART_CREDENTIALS";
/** The variable naming a file that holds the credentials list. */
export const CHART_CREDENTIALS_FILE_VARIABLE = "BOSUN_CHART_CREDENTIALS_FILE";

/** Where a secret is read from at the moment it is used. */
export type SecretRef = { env: string } | { file: string };

/** One repository's credentials and trust, as the operator wrote them. */
export interface ChartRepoCredentials {
  /** The URL prefix (`https://…` or `oci://…`), normalised (no trailing slash). */
  url: string;
  /** Where this entry was written (`file:line`), for messages. */
  source: string;
  username?: string | SecretRef;
  password?: SecretRef;
  token?: SecretRef;
  /** PEM files, read when a connection is made. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Every entry of the operator's list, most specific first. */
export interface ChartCredentialsList {
  repositories: readonly ChartRepoCredentials[];
}

/** An empty list: no repository gets credentials, every one is trusted by the system's CAs only. */
export const NO_CHART_CREDENTIALS: ChartCredentialsList = { repositories: [] };

/** The list could not be read: the message names the file (or variable), line and field. */
export class ChartCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChartCredentialsError";
  }
}

const ENTRY_FIELDS = new Set(["url", "username", "usernameEnv", "passwordEnv", "passwordFile", "tokenEnv", "tokenFile", "caFile", "certFile", "keyFile"]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Largest credentials list read (it is a short list of prefixes and references). */
const MAX_LIST_BYTES = 256 * 1024;

/**
 * Parses a credentials list written by the operator. `where` names it in messages (a file path, or the
 * variable's name). Throws {@link ChartCredentialsError} with `where:line` and the field on the first problem.
 */
export function parseChartCredentials(text: string, where: string): ChartCredentialsList {
  const keyLines = new Map<object, Map<string | number, YamlPosition>>();
  const hooks: YamlWalkHooks = {
    child: (container, key, keyAt, valueAt) => {
      let lines = keyLines.get(container);
      if (!lines) keyLines.set(container, (lines = new Map<string | number, YamlPosition>()));
      lines.set(key, keyAt ?? valueAt);
    },
  };
  const parsed = parseSingleYaml(text, { limits: { maxBytes: MAX_LIST_BYTES }, hooks });
  if (!parsed.ok) throw new ChartCredentialsError(`${where}:${parsed.problem.line}: ${parsed.problem.message}`);
  const at = (container: object, key: string | number): string => `${where}:${keyLines.get(container)?.get(key)?.line ?? 1}`;
  const root = parsed.value ?? {};
  if (!isMap(root)) throw new ChartCredentialsError(`${where}:1: expected a map with the field repositories`);
  for (const key of Object.keys(root)) {
    if (key !== "repositories") throw new ChartCredentialsError(`${at(root, key)}: unknown field ${key} (the list has only repositories)`);
  }
  const list = root.repositories ?? [];
  if (!Array.isArray(list)) throw new ChartCredentialsError(`${at(root, "repositories")}: repositories must be a list`);
  const entries = list.map((item: unknown, index) => parseEntry(item, `repositories[${index}]`, (key) => at(item as object, key), at(list, index)));
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const earlier = seen.get(entry.url);
    if (earlier !== undefined) throw new ChartCredentialsError(`${entry.source}: ${entry.url} is listed twice (also at ${earlier})`);
    seen.set(entry.url, entry.source);
  }
  // Most specific first: the first entry a URL lies under is its longest prefix.
  return { repositories: [...entries].sort((a, b) => b.url.length - a.url.length) };
}

function parseEntry(item: unknown, field: string, at: (key: string) => string, itemAt: string): ChartRepoCredentials {
  if (!isMap(item)) throw new ChartCredentialsError(`${itemAt}: ${field} must be a map with at least url`);
  for (const key of Object.keys(item)) {
    if (key === "password" || key === "token") {
      throw new ChartCredentialsError(`${at(key)}: ${field}.${key}: an inline secret is not accepted; name a variable (${key}Env) or a file (${key}File)`);
    }
    if (!ENTRY_FIELDS.has(key)) throw new ChartCredentialsError(`${at(key)}: ${field}: unknown field ${key}`);
  }
  const text = (key: string): string | undefined => {
    const value = item[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") throw new ChartCredentialsError(`${at(key)}: ${field}.${key} must be a non-empty string`);
    if (key.endsWith("Env") && !ENV_NAME.test(value)) throw new ChartCredentialsError(`${at(key)}: ${field}.${key}: ${JSON.stringify(value)} is not an environment variable name`);
    return value;
  };
  const url = text("url");
  if (url === undefined) throw new ChartCredentialsError(`${itemAt}: ${field}.url is required`);
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new ChartCredentialsError(`${at("url")}: ${field}.url: not a URL`);
  }
  if (parsedUrl.protocol === "http:") {
    throw new ChartCredentialsError(`${at("url")}: ${field}.url: credentials are sent only over https:// or oci:// (TLS), not http://`);
  }
  if (parsedUrl.protocol !== "https:" && parsedUrl.protocol !== "oci:") throw new ChartCredentialsError(`${at("url")}: ${field}.url: scheme ${parsedUrl.protocol} is not https or oci`);
  if (parsedUrl.username !== "" || parsedUrl.password !== "" || parsedUrl.search !== "" || parsedUrl.hash !== "") {
    throw new ChartCredentialsError(`${at("url")}: ${field}.url: a prefix is a scheme, host and path, without user info, query or fragment`);
  }
  const one = (a: string, b: string): SecretRef | undefined => {
    const env = text(a);
    const file = text(b);
    if (env !== undefined && file !== undefined) throw new ChartCredentialsError(`${at(b)}: ${field}: set ${a} or ${b}, not both`);
    return env !== undefined ? { env } : file !== undefined ? { file } : undefined;
  };
  const username = text("username");
  const usernameEnv = text("usernameEnv");
  if (username !== undefined && usernameEnv !== undefined) throw new ChartCredentialsError(`${at("usernameEnv")}: ${field}: set username or usernameEnv, not both`);
  const password = one("passwordEnv", "passwordFile");
  const token = one("tokenEnv", "tokenFile");
  const hasUser = username !== undefined || usernameEnv !== undefined;
  if (hasUser !== (password !== undefined)) {
    throw new ChartCredentialsError(`${at(hasUser ? (usernameEnv === undefined ? "username" : "usernameEnv") : password && "env" in password ? "passwordEnv" : "passwordFile")}: ${field}: basic auth needs both a username and a password`);
  }
  if (token !== undefined && password !== undefined) throw new ChartCredentialsError(`${at("tokenEnv" in item ? "tokenEnv" : "tokenFile")}: ${field}: set basic auth or a token, not both`);
  const certFile = text("certFile");
  const keyFile = text("keyFile");
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ChartCredentialsError(`${at(certFile === undefined ? "keyFile" : "certFile")}: ${field}: a client certificate needs both certFile and keyFile`);
  const caFile = text("caFile");
  return {
    url: normalise(parsedUrl),
    source: itemAt,
    ...(username !== undefined ? { username } : usernameEnv !== undefined ? { username: { env: usernameEnv } } : {}),
    ...(password ? { password } : {}),
    ...(token ? { token } : {}),
    ...(caFile ? { caFile } : {}),
    ...(certFile && keyFile ? { certFile, keyFile } : {}),
  };
}

function normalise(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Reads the operator's list: `file` (a flag) wins, else {@link CHART_CREDENTIALS_FILE_VARIABLE}, else the
 * YAML in {@link CHART_CREDENTIALS_VARIABLE}; none of them gives {@link NO_CHART_CREDENTIALS}. Synchronous:
 * it is read with the flags, before anything runs.
 */
export function loadChartCredentials(file: string | undefined, env: Readonly<Record<string, string | undefined>>): ChartCredentialsList {
  const list = readChartCredentials(file, env);
  // bosun reads these itself; no program it runs (helm, kustomize, a plugin) is given them.
  withholdFromChildren([CHART_CREDENTIALS_VARIABLE, ...list.repositories.flatMap((entry) => [entry.username, entry.password, entry.token].flatMap((ref) => (typeof ref === "object" && "env" in ref ? [ref.env] : [])))]);
  return list;
}

function readChartCredentials(file: string | undefined, env: Readonly<Record<string, string | undefined>>): ChartCredentialsList {
  const path = file ?? env[CHART_CREDENTIALS_FILE_VARIABLE];
  if (path !== undefined && path !== "") {
    const read = readRegularFileSync(path, MAX_LIST_BYTES);
    if (!read.ok) throw new ChartCredentialsError(`${path}: cannot read the chart credentials (${read.problem})`);
    return parseChartCredentials(read.text, path);
  }
  const inline = env[CHART_CREDENTIALS_VARIABLE];
  if (inline !== undefined && inline.trim() !== "") return parseChartCredentials(inline, CHART_CREDENTIALS_VARIABLE);
  return NO_CHART_CREDENTIALS;
}

/** The entry for `url` — the longest prefix it lies under — or undefined. */
export function credentialsFor(list: ChartCredentialsList, url: string): ChartRepoCredentials | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return list.repositories.find((entry) => underPrefix(parsed, entry.url));
}

/** What a connection to a repository carries, with every secret read now. */
export interface ResolvedChartAuth {
  /** `Authorization` header value (`Basic …` or `Bearer …`), when the entry has one. */
  authorization?: string;
  /** The username and password separately (for `helm registry login`). */
  basic?: { username: string; password: string };
  ca?: string;
  cert?: string;
  key?: string;
  /** Every secret read, so that messages can be scrubbed of them. */
  secrets: string[];
}

/** Largest secret or PEM file read. */
const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * Reads the secrets and PEM files of `entry` now. A missing variable or unreadable file is an error naming
 * the entry and the variable or file — never a value.
 */
export async function resolveChartAuth(entry: ChartRepoCredentials, env: Readonly<Record<string, string | undefined>>): Promise<ResolvedChartAuth> {
  const secret = async (ref: SecretRef | string, what: string): Promise<string> => {
    if (typeof ref === "string") return ref;
    if ("env" in ref) {
      const value = Object.hasOwn(env, ref.env) ? env[ref.env] : undefined;
      if (value === undefined || value === "") throw new ChartCredentialsError(`chart credentials for ${entry.url} (${entry.source}): environment variable ${ref.env} (the ${what}) is not set`);
      return value;
    }
    return readPem(ref.file, what);
  };
  const readPem = async (file: string, what: string): Promise<string> => {
    const read = await readRegularFile(file, MAX_SECRET_BYTES);
    if (!read.ok) throw new ChartCredentialsError(`chart credentials for ${entry.url} (${entry.source}): cannot read the ${what} file ${file} (${read.problem})`);
    // A mounted Secret's file usually ends in a newline that is not part of the password.
    return what.endsWith("PEM") ? read.text : read.text.replace(/\r?\n$/, "");
  };
  const out: ResolvedChartAuth = { secrets: [] };
  if (entry.username !== undefined && entry.password !== undefined) {
    const username = await secret(entry.username, "username");
    // Basic auth joins the two with a colon: a colon in the username would shift it into the password.
    if (username.includes(":")) throw new ChartCredentialsError(`chart credentials for ${entry.url} (${entry.source}): the username contains ":", which basic auth cannot carry`);
    const password = await secret(entry.password, "password");
    out.basic = { username, password };
    out.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    out.secrets.push(password, out.authorization.slice("Basic ".length));
  }
  if (entry.token !== undefined) {
    const token = await secret(entry.token, "token");
    out.authorization = `Bearer ${token}`;
    out.secrets.push(token);
  }
  if (entry.caFile !== undefined) out.ca = await readPem(entry.caFile, "CA bundle PEM");
  if (entry.certFile !== undefined && entry.keyFile !== undefined) {
    out.cert = await readPem(entry.certFile, "client certificate PEM");
    out.key = await readPem(entry.keyFile, "client key PEM");
    out.secrets.push(out.key);
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
