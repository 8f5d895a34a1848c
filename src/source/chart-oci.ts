/**
 * Pulling a pinned chart from an OCI registry. OCI registries speak the distribution API (token exchange,
 * manifests, blobs), which helm already implements, so bosun drives helm — but in a private helm home made
 * for this one pull and removed right after:
 *
 * - the operator's login is written there as helm's registry configuration (no `helm registry login`
 *   process, no password on a command line);
 * - HOME, Docker's configuration and every helm location point into it, so nothing is read from or written
 *   to the user's own helm or Docker configuration, credential helpers or desktop keychain;
 * - the homes live in bosun's own cache directory (`<cache>/helm-homes`, this user's only), never in a
 *   shared /tmp; one left behind by a killed process is removed by a later pull once it is older than any
 *   pull can take.
 *
 * The archive helm pulled is hashed and kept in the same digest-named cache as the archives of HTTP(S)
 * repositories (`chart-cache.ts`), so a plan records its digest and an apply re-checks it the same way.
 *
 * What bosun cannot check here, because helm makes the connection: the address connected to. The host's
 * addresses are checked before helm runs (a literal internal address here, a name resolving to one by
 * the render's guard), which leaves DNS rebinding between that lookup and helm's (docs/security.md).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { ProcessError, ToolNotFoundError } from "../errors.js";
import { helmPull, writeHelmHomeLogins, type HelmRegistryTls } from "../tools/helm.js";
import { REPO_CHART_NAME } from "../spec/chart-repo-url.js";
import { storeChart } from "./chart-cache.js";
import { credentialsFor, resolveChartAuth, type ChartCredentialsList, type ResolvedChartAuth } from "./chart-credentials.js";
import { ChartFetchError, literalHostProblem, safe, type FetchedChart } from "./chart-fetch-error.js";

/** How one OCI pull runs. */
export interface OciPullOptions {
  credentials: ChartCredentialsList;
  env: Readonly<Record<string, string | undefined>>;
  allowInternal: boolean;
  timeoutMs: number;
  maxChartBytes: number;
  cacheDir: string;
  /** The helm executable (default: bosun's lookup). */
  helm?: string;
  /** Stops helm (a run's SIGTERM); the private home is removed all the same. */
  signal?: AbortSignal;
}

/** Longest message text taken from helm's own error output. */
const MAX_DETAIL = 300;
/** A private helm home older than this belongs to no running pull (a pull is stopped at its timeout). */
const ABANDONED_AFTER_MS = 15 * 60_000;
/** How often a long-running process looks for abandoned homes. */
const SWEEP_EVERY_MS = 10 * 60_000;

/** `name` at `version` from the OCI registry path `repo` (`oci://host[:port]/path`), pulled by helm and pinned by digest. */
export async function pullOciChart(repo: string, name: string, version: string, options: OciPullOptions): Promise<FetchedChart> {
  const where = `OCI registry ${safe(repo)}`;
  // The spec refuses such names already; a name with `@` or `:` would pull another digest or tag.
  if (!REPO_CHART_NAME.test(name)) throw new ChartFetchError("invalid", `${where}: ${JSON.stringify(name.slice(0, 80))} is not a chart name`);
  let url: URL;
  try {
    url = new URL(`${repo.replace(/\/+$/, "")}/${name}`);
  } catch {
    throw new ChartFetchError("invalid", `${where}: ${name} does not make a valid chart reference`);
  }
  // helm is given the URL in its canonical spelling — the spelling the allow-list, the credentials prefix
  // and the login's host key were matched against (`[0::1]`, `:05000`, `OCI://` all normalised).
  const ref = `oci://${url.host}${url.pathname}`;
  // A literal address is refused here as well; a name is checked by the render's guard
  // (chart-repo-guard.ts) right before, since helm resolves it itself.
  const literal = literalHostProblem(url, options.allowInternal);
  if (literal !== undefined) throw new ChartFetchError("refused", literal);
  const entry = credentialsFor(options.credentials, ref);
  let auth: ResolvedChartAuth = { secrets: [] };
  if (entry) {
    if (entry.token !== undefined) {
      throw new ChartFetchError("refused", `${where}: the chart credentials entry ${entry.url} (${entry.source}) gives a token, but a registry login takes a username and password (registries that issue tokens accept one as the password: username + passwordEnv)`);
    }
    try {
      auth = await resolveChartAuth(entry, options.env);
    } catch (error) {
      throw new ChartFetchError("refused", error instanceof Error ? error.message : "cannot read the chart credentials");
    }
  }
  const tls: HelmRegistryTls = {
    ...(entry?.caFile ? { caFile: path.resolve(entry.caFile) } : {}),
    ...(entry?.certFile && entry.keyFile ? { certFile: path.resolve(entry.certFile), keyFile: path.resolve(entry.keyFile) } : {}),
  };
  const homes = path.join(options.cacheDir, "..", "helm-homes");
  await fs.mkdir(homes, { recursive: true, mode: 0o700 });
  await sweepAbandonedHomes(homes);
  // mkdtemp makes the directory readable by this user only; the login written into it dies with it.
  const home = await fs.mkdtemp(path.join(homes, "home-"));
  const helmOptions = { home, timeoutMs: options.timeoutMs, ...(options.helm ? { helm: options.helm } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  try {
    await writeHelmHomeLogins(home, new Map(auth.basic ? registryKeys(url.host).map((key) => [key, auth.basic as { username: string; password: string }]) : []));
    const destination = path.join(home, "pull");
    await fs.mkdir(destination);
    let pulled: { file: string };
    try {
      pulled = await helmPull(ref, version, destination, tls, helmOptions);
    } catch (error) {
      throw helmFailure(error, `${where}: ${name} ${version}`, url, auth);
    }
    const size = (await fs.stat(pulled.file)).size;
    if (size > options.maxChartBytes) throw new ChartFetchError("too-large", `${where}: ${name} ${version} is larger than the limit of ${options.maxChartBytes} bytes`);
    const stored = await storeChart(options.cacheDir, await fs.readFile(pulled.file));
    return { ...stored, url: safe(ref) };
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}

/** When each homes directory was last swept by this process. */
const lastSweep = new Map<string, number>();

/**
 * Removes private helm homes that no pull can still be using (older than {@link ABANDONED_AFTER_MS}: left
 * by a process killed before its `finally` ran), at most every {@link SWEEP_EVERY_MS}. Age, not a pid,
 * decides, so it works across pid namespaces; only real directories of this user are removed.
 */
export async function sweepAbandonedHomes(homes: string, now = Date.now()): Promise<void> {
  if (now - (lastSweep.get(homes) ?? 0) < SWEEP_EVERY_MS) return;
  lastSweep.set(homes, now);
  const entries = await fs.readdir(homes).catch(() => [] as string[]);
  for (const entry of entries) {
    const dir = path.join(homes, entry);
    const stat = await fs.lstat(dir).catch(() => undefined);
    if (!stat?.isDirectory() || stat.uid !== process.getuid?.() || now - stat.mtimeMs < ABANDONED_AFTER_MS) continue;
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The keys helm's registry client looks a login up by for `host`: the host itself, and for Docker Hub the
 * index address Docker has always used.
 */
function registryKeys(host: string): string[] {
  return host === "docker.io" || host === "registry-1.docker.io" || host === "index.docker.io" ? [host, "https://index.docker.io/v1/"] : [host];
}

/**
 * A helm failure as a {@link ChartFetchError}, classified from helm's message once every word the fleet
 * wrote (the registry host, its path, the chart name) is taken out of it, so that a repository named
 * `…/access-denied` cannot pass for a 403; with a short, scrubbed excerpt.
 */
function helmFailure(error: unknown, where: string, url: URL, auth: ResolvedChartAuth): unknown {
  if (error instanceof ToolNotFoundError || !(error instanceof ProcessError)) return error;
  if (error.timedOut) return new ChartFetchError("unreachable", `${where}: the registry did not answer in time`);
  const text = error.stderr
    .split("\n")
    .map((line) => line.split(" ").map((word) => (word.includes(url.host) ? "<ref>" : word)).join(" "))
    .join("\n");
  const detail = excerpt(text, auth.secrets);
  const sentCredentials = auth.basic !== undefined;
  if (/response status code 401|basic credential not found|\bunauthorized: /.test(text)) {
    return new ChartFetchError(
      "unauthorized",
      sentCredentials
        ? `${where}: the registry refused the configured credentials (401 Unauthorized); check the chart credentials entry for it`
        : `${where}: the registry needs credentials (401 Unauthorized); configure them in the chart credentials (--chart-credentials, docs/chart-repositories.md)`,
    );
  }
  if (/response status code 403|\bdenied: /.test(text)) return new ChartFetchError("forbidden", `${where}: the registry forbids access (403 Forbidden)${sentCredentials ? " to the configured credentials" : ""}`);
  if (/x509: certificate signed by unknown authority/.test(text)) {
    return new ChartFetchError("tls", `${where}: TLS: the registry's certificate is not signed by a trusted CA; add the registry's CA bundle as caFile in its chart credentials entry`);
  }
  if (/x509: certificate has expired or is not yet valid/.test(text)) return new ChartFetchError("tls", `${where}: TLS: the registry's certificate is not valid now`);
  if (/x509: certificate is valid for|doesn't contain any IP SANs|x509: certificate is not valid for any names/.test(text)) return new ChartFetchError("tls", `${where}: TLS: the registry's certificate does not name its host`);
  if (/\btls: |\bx509: /.test(text)) return new ChartFetchError("tls", `${where}: TLS handshake failed (${detail})`);
  if (/<ref>:? not found|\bmanifest unknown\b|\bname unknown\b|response status code 404/.test(text)) return new ChartFetchError("not-found", `${where}: not found in the registry (no such chart, or no such version)`);
  if (/connect: connection refused|no such host|i\/o timeout|network is unreachable|context deadline exceeded|connection reset by peer|\bEOF\b/.test(text)) {
    return new ChartFetchError("unreachable", `${where}: the registry is unreachable (${detail})`);
  }
  return new ChartFetchError("invalid", `${where}: helm failed (${detail})`);
}

/** The last line of helm's error output, without control characters or secrets, and short. */
function excerpt(stderr: string, secrets: readonly string[]): string {
  let line = stderr.trim().split("\n").at(-1) ?? "";
  line = line.replace(/^Error:\s*/, "").replace(/\p{Cc}/gu, " ");
  for (const secret of secrets) if (secret !== "") line = line.replaceAll(secret, "***");
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line;
}
