/**
 * Which Helm chart repository URLs a fleet may name. Pure: a URL is parsed with the WHATWG URL parser (which
 * also turns every IPv4 spelling — decimal, hex, octal, shortened — into dotted form) and its host is
 * classified with `net.isIP` and `net.BlockList`. A host name is judged here only by what it says
 * (`localhost`); what it resolves to is checked again right before helm fetches (src/addons/chart-repo-guard.ts).
 *
 * Messages never repeat the URL as written: it may carry a credential. They show {@link redactUrl}'s form.
 */
import net from "node:net";
import type { RepoPolicy } from "./repo-policy.js";

/** What kind of address a host is; everything but `public` is internal. */
export type AddressClass = "public" | "loopback" | "private" | "link-local" | "unspecified" | "reserved";

/** Subnets by class. IPv6 forms that embed an IPv4 address are unwrapped before these are consulted. */
const SUBNETS: readonly { cls: Exclude<AddressClass, "public">; net: string; prefix: number; family: "ipv4" | "ipv6" }[] = [
  { cls: "unspecified", net: "0.0.0.0", prefix: 8, family: "ipv4" },
  { cls: "loopback", net: "127.0.0.0", prefix: 8, family: "ipv4" },
  { cls: "private", net: "10.0.0.0", prefix: 8, family: "ipv4" },
  { cls: "private", net: "172.16.0.0", prefix: 12, family: "ipv4" },
  { cls: "private", net: "192.168.0.0", prefix: 16, family: "ipv4" },
  // Carrier-grade NAT: not on the public Internet, and used for cluster and VPC networks.
  { cls: "private", net: "100.64.0.0", prefix: 10, family: "ipv4" },
  { cls: "link-local", net: "169.254.0.0", prefix: 16, family: "ipv4" },
  { cls: "reserved", net: "192.0.0.0", prefix: 24, family: "ipv4" },
  { cls: "reserved", net: "192.0.2.0", prefix: 24, family: "ipv4" },
  { cls: "reserved", net: "198.18.0.0", prefix: 15, family: "ipv4" },
  { cls: "reserved", net: "198.51.100.0", prefix: 24, family: "ipv4" },
  { cls: "reserved", net: "203.0.113.0", prefix: 24, family: "ipv4" },
  { cls: "reserved", net: "224.0.0.0", prefix: 4, family: "ipv4" },
  { cls: "reserved", net: "240.0.0.0", prefix: 4, family: "ipv4" },
  { cls: "unspecified", net: "::", prefix: 128, family: "ipv6" },
  { cls: "loopback", net: "::1", prefix: 128, family: "ipv6" },
  { cls: "private", net: "fc00::", prefix: 7, family: "ipv6" },
  { cls: "link-local", net: "fe80::", prefix: 10, family: "ipv6" },
  // Deprecated site-local: still routed internally by some networks.
  { cls: "private", net: "fec0::", prefix: 10, family: "ipv6" },
  { cls: "reserved", net: "ff00::", prefix: 8, family: "ipv6" },
  { cls: "reserved", net: "2001:db8::", prefix: 32, family: "ipv6" },
  { cls: "reserved", net: "100::", prefix: 64, family: "ipv6" },
];

const LISTS = new Map<Exclude<AddressClass, "public">, net.BlockList>();
for (const subnet of SUBNETS) {
  let list = LISTS.get(subnet.cls);
  if (!list) {
    list = new net.BlockList();
    LISTS.set(subnet.cls, list);
  }
  list.addSubnet(subnet.net, subnet.prefix, subnet.family);
}

/**
 * The class of an IP address (without brackets). IPv6 addresses that carry an IPv4 address — mapped
 * (`::ffff:127.0.0.1`), translated (`::ffff:0:127.0.0.1`), compatible (`::127.0.0.1`), NAT64
 * (`64:ff9b::/96`) and 6to4 (`2002::/16`) — are judged by the IPv4 address they carry; local-use NAT64 and
 * Teredo, whose IPv4 address cannot be read off reliably, are reserved. Anything that is not an IP address is `reserved`.
 */
export function classifyAddress(address: string): AddressClass {
  const family = net.isIP(address);
  if (family === 4) return lookUpClass(address, "ipv4");
  if (family !== 6) return "reserved";
  const embedded = embeddedIpv4(address);
  if (embedded !== undefined) return classifyAddress(embedded);
  if (translatedElsewhere(address)) return "reserved";
  return lookUpClass(address, "ipv6");
}

function lookUpClass(address: string, family: "ipv4" | "ipv6"): AddressClass {
  for (const [cls, list] of LISTS) if (list.check(address, family)) return cls;
  return "public";
}

/** The IPv4 address an IPv6 address carries, for the forms that carry one. */
function embeddedIpv4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (!words) return undefined;
  const v4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number): boolean => words.slice(from, to).every((w) => w === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; ::, ::1 excluded: they are their own classes).
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6] ?? 0, words[7] ?? 0);
  // ::ffff:0:a.b.c.d (SIIT, RFC 7915: an IPv4-translated address).
  if (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) return v4(words[6] ?? 0, words[7] ?? 0);
  if (zeros(0, 6) && ((words[6] ?? 0) !== 0 || (words[7] ?? 0) > 1)) return v4(words[6] ?? 0, words[7] ?? 0);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix).
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6] ?? 0, words[7] ?? 0);
  // 2002:AABB:CCDD::/48 (6to4).
  if (words[0] === 0x2002) return v4(words[1] ?? 0, words[2] ?? 0);
  return undefined;
}

/**
 * Prefixes whose addresses a local translator or tunnel turns into an IPv4 address bosun cannot read off
 * reliably: local-use NAT64 (`64:ff9b:1::/48`, RFC 8215: the IPv4 position depends on the prefix length a
 * network chose) and Teredo (`2001::/32`, the client's address obscured). Refused as reserved.
 */
function translatedElsewhere(address: string): boolean {
  const words = ipv6Words(address);
  if (!words) return false;
  return (words[0] === 0x64 && words[1] === 0xff9b && words[2] === 1) || (words[0] === 0x2001 && words[1] === 0);
}

/** The eight 16-bit words of an IPv6 address (with an optional dotted IPv4 tail). */
function ipv6Words(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // A dotted IPv4 tail is two words; rewrite it in hex so the rest is one parse.
    const parts = last.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    const hi = (((parts[0] ?? 0) << 8) | (parts[1] ?? 0)).toString(16);
    const lo = (((parts[2] ?? 0) << 8) | (parts[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head = "", rest] = text.split("::");
  const parse = (part: string): number[] => (part === "" ? [] : part.split(":").map((w) => Number.parseInt(w, 16)));
  const before = parse(head);
  const after = rest === undefined ? [] : parse(rest);
  const missing = 8 - before.length - after.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return undefined;
  const words = [...before, ...new Array<number>(missing).fill(0), ...after];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}

/** A URL's host, classified: an IP literal by its address, a name as `public` unless it names the local machine. */
export interface ClassifiedHost {
  /** The host as the URL parser normalized it (no brackets, no trailing dot, lower case). */
  hostname: string;
  /** Whether the host is an IP address literal (so there is nothing to resolve). */
  literal: boolean;
  cls: AddressClass;
}

/**
 * Classifies the host of a parsed URL. A non-special scheme such as `oci://` keeps its host as written,
 * so the host is parsed again as an `https://` host, which applies the IPv4 spellings the same way.
 */
export function classifyUrlHost(url: URL): ClassifiedHost | undefined {
  let host = url.hostname;
  if (!SPECIAL_SCHEMES.has(url.protocol)) {
    try {
      host = new URL(`https://${url.host}/`).hostname;
    } catch {
      return undefined;
    }
  }
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const hostname = bare.toLowerCase().replace(/\.+$/, "");
  if (hostname === "") return undefined;
  if (net.isIP(hostname) !== 0) return { hostname, literal: true, cls: classifyAddress(hostname) };
  const local = hostname === "localhost" || hostname.endsWith(".localhost");
  return { hostname, literal: false, cls: local ? "loopback" : "public" };
}

const SPECIAL_SCHEMES = new Set(["http:", "https:", "ftp:", "ws:", "wss:", "file:"]);

/** The schemes helm fetches charts over. */
const CHART_SCHEMES = new Set(["https:", "http:", "oci:"]);

/**
 * Query parameter names that carry secrets: tokens, keys, signatures (S3, GCS, Azure SAS), passwords,
 * sessions. Compared on the lower-cased name without punctuation, by the parts it contains.
 */
const SECRET_PARAMETER_PARTS = ["token", "secret", "pass", "pwd", "key", "sig", "auth", "cred", "session", "sas", "jwt", "bearer", "amzsecurity", "amzcredential"];

/** Whether a query parameter's name says it carries a secret. */
export function isSecretParameter(name: string): boolean {
  const bare = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  return SECRET_PARAMETER_PARTS.some((part) => bare.includes(part));
}

/** A URL with its user info, query and fragment removed: safe to print. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === "/" && !SPECIAL_SCHEMES.has(url.protocol) ? "" : url.pathname}`;
}

/** What the URL check found: the problems (empty: acceptable) and, when the URL parsed, its safe form. */
export interface ChartRepoCheck {
  problems: string[];
  url?: URL;
  host?: ClassifiedHost;
}

/**
 * Checks a chart repository URL as written in the spec against the operator's policy: a scheme helm
 * fetches over, no credentials in the URL or its query string, a host that is not internal (unless the
 * operator allows internal repositories), and a URL under one of the allowed prefixes (when there are any).
 */
export function checkChartRepoUrl(written: string, policy: RepoPolicy): ChartRepoCheck {
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return { problems: ["chart repository is not a valid URL"] };
  }
  const shown = redactUrl(url);
  const problems: string[] = [];
  if (!CHART_SCHEMES.has(url.protocol)) problems.push(`chart repository ${shown}: scheme ${url.protocol} is not one helm fetches charts over (https, http, oci)`);
  if (url.username !== "" || url.password !== "") {
    problems.push(`chart repository ${shown} carries credentials in the URL: give them to helm through its own configuration, never in the fleet repository`);
  }
  if (url.protocol === "oci:" && (url.search !== "" || url.hash !== "" || /[?#]/.test(written))) {
    problems.push(`chart repository ${shown}: an OCI registry path has no query or fragment (helm would pull another repository than the one checked)`);
  }
  if (hasDotSegment(written)) {
    problems.push(`chart repository ${shown}: the path has "." or ".." segments (the URL checked would not be the URL fetched)`);
  }
  const secretParams = [...new Set([...url.searchParams.keys()].filter(isSecretParameter))];
  if (secretParams.length > 0) {
    problems.push(`chart repository ${shown} carries a secret in its query string (${secretParams.map((p) => JSON.stringify(p)).join(", ")}): never put credentials in the fleet repository`);
  }
  const host = classifyUrlHost(url);
  if (host === undefined) problems.push(`chart repository ${shown} has no host`);
  else if (host.cls !== "public" && !policy.allowInternalChartRepos) {
    problems.push(`chart repository ${shown} is on a ${host.cls} address (${host.hostname}): bosun fetches charts only from public hosts unless the operator allows internal ones (--allow-internal-chart-repos)`);
  }
  if (policy.allowedChartRepos.length > 0 && !policy.allowedChartRepos.some((prefix) => underPrefix(url, prefix))) {
    problems.push(`chart repository ${shown} is not in the operator's allowed chart repositories (--allowed-chart-repos / BOSUN_ALLOWED_CHART_REPOS)`);
  }
  if (policy.fleetChartRepos !== undefined && !policy.fleetChartRepos.some((prefix) => underPrefix(url, prefix))) {
    problems.push(`chart repository ${shown} is not in the fleet's spec.chartRepositories (a pull request is held to its base branch's list)`);
  }
  return { problems, url, ...(host ? { host } : {}) };
}

/** Whether the path of a URL as written has a `.` or `..` segment, also percent-encoded (`%2e`). */
function hasDotSegment(written: string): boolean {
  const afterScheme = written.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  const path = afterScheme.split(/[?#]/, 1)[0] ?? "";
  return path.split("/").some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}

/** A chart's name in a repository or registry: letters, digits, `.`, `_` and `-`, starting with a letter or digit. */
export const REPO_CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * Whether `url` lies under the allowed `prefix`: same scheme, same host and port, and the prefix's path
 * is the URL's path or a parent of it at a `/` boundary — so `https://charts.example.com` does not allow
 * `https://charts.example.com.evil.net`, nor `https://charts.example.com/team` allow `…/team-evil`.
 */
export function underPrefix(url: URL, prefix: string): boolean {
  let allowed: URL;
  try {
    allowed = new URL(prefix);
  } catch {
    return false;
  }
  if (allowed.protocol !== url.protocol) return false;
  const a = classifyUrlHost(allowed);
  const u = classifyUrlHost(url);
  if (!a || !u || a.hostname !== u.hostname || allowed.port !== url.port) return false;
  const base = allowed.pathname.replace(/\/+$/, "");
  const pathname = url.pathname.replace(/\/+$/, "");
  return pathname === base || pathname.startsWith(`${base}/`);
}

/** Checks operator-supplied allow-list prefixes; returns the problem with the first bad one. */
export function checkAllowedPrefixes(prefixes: readonly string[]): string | undefined {
  for (const prefix of prefixes) {
    let url: URL;
    try {
      url = new URL(prefix);
    } catch {
      return `"${prefix}" is not a URL`;
    }
    if (!CHART_SCHEMES.has(url.protocol)) return `"${prefix}": scheme ${url.protocol} is not https, http or oci`;
    if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return `"${redactUrl(url)}…": a prefix is a scheme, host and path, without credentials, query or fragment`;
  }
  return undefined;
}
