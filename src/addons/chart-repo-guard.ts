/**
 * The last check before helm is handed a chart repository URL: the URL is checked again against the
 * operator's policy (as `bosun validate` did), and its host name is resolved, now, with every address it
 * resolves to classified. A name that resolves to a loopback, private, link-local or otherwise internal
 * address (`metadata.google.internal`, a wildcard DNS name such as `127.0.0.1.nip.io`, a cluster Service
 * name) is refused unless the operator allows internal chart repositories, so a pull request cannot point
 * a plan at the cloud metadata service or an internal endpoint by name.
 *
 * Limits (docs/security.md): helm resolves the name again itself, so a DNS server that answers differently
 * the second time (DNS rebinding) is not stopped here; nor are the redirects and chart download URLs a
 * repository's index.yaml names, which helm follows on its own.
 */
import dns from "node:dns/promises";
import { checkChartRepoUrl, classifyAddress } from "../spec/chart-repo-url.js";
import type { RepoPolicy } from "../spec/repo-policy.js";

/** Resolves a host name to all its addresses (Node's `dns.lookup` with `all`; a test may pass its own). */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

/** Longest a chart repository's name may take to resolve. */
export const CHART_REPO_RESOLVE_TIMEOUT_MS = 10_000;

const systemResolve: ResolveHost = async (hostname) => (await dns.lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Why helm must not fetch from `repo` now, or undefined when it may. Never throws; never repeats
 * credentials (the URL is shown without user info and query).
 */
export async function chartRepoFetchProblem(repo: string, policy: RepoPolicy, resolve: ResolveHost = systemResolve): Promise<string | undefined> {
  const checked = checkChartRepoUrl(repo, policy);
  if (checked.problems.length > 0) return checked.problems.join("; ");
  const host = checked.host;
  if (!host) return "the chart repository URL has no host";
  if (host.literal || policy.allowInternalChartRepos) return undefined;
  let addresses: readonly string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    addresses = await Promise.race([
      resolve(host.hostname),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${CHART_REPO_RESOLVE_TIMEOUT_MS / 1000} s`));
        }, CHART_REPO_RESOLVE_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `cannot resolve the chart repository host ${host.hostname}: ${code ?? (error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) return `the chart repository host ${host.hostname} resolves to no address`;
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls !== "public") {
      return `the chart repository host ${host.hostname} resolves to ${address}, a ${cls} address: bosun fetches charts only from public hosts unless the operator allows internal ones (--allow-internal-chart-repos)`;
    }
  }
  return undefined;
}
