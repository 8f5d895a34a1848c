/**
 * Checks `--repo` and `--ref` before anything touches the network or the disk. bosun speaks Git only over
 * HTTP(S) through isomorphic-git, so every other transport is refused here with a message that says what
 * to use instead; a value that might carry a secret (userinfo, a query string) is never echoed back.
 */
import path from "node:path";
import { InvalidInputError } from "../errors.js";

/** Where `--repo` points: a smart-HTTP URL, or a Git repository on this machine. */
export type RepoLocation =
  /** `url` is normalised (lower-case scheme and host, no trailing slash) and never carries credentials. */
  | { kind: "url"; url: string }
  /** `path` is absolute. */
  | { kind: "path"; path: string };

/** What `--ref` names: a full commit id, or a branch/tag name (short, `HEAD`, or a full `refs/…` name). */
export type GitRefSpec = { kind: "commit"; oid: string } | { kind: "name"; name: string };

/** Refs longer than this are refused: no real branch or tag comes close, and the name ends up in paths. */
export const MAX_REF_LENGTH = 255;

const FULL_COMMIT = /^[0-9a-fA-F]{40}$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// Git's `<transport>::<address>` syntax runs a remote helper (`ext::sh -c …` runs any command).
const REMOTE_HELPER = /^[A-Za-z0-9][A-Za-z0-9+.-]*::/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Parses `--repo`: an `https://` or `http://` URL without credentials, query or fragment, or a local path.
 * Everything else — `ssh://`, `git://`, `file://`, `ext::…`, scp-like `git@host:path` — is refused with an
 * `InvalidInputError` naming `--repo`.
 */
export function parseRepoLocation(raw: string, cwd: string = process.cwd()): RepoLocation {
  const shown = JSON.stringify(redactLocation(raw));
  if (raw.length === 0) throw new InvalidInputError("--repo: empty; give an https:// URL or a local path");
  if (CONTROL.test(raw)) throw new InvalidInputError(`--repo ${shown}: contains control characters`);
  if (raw.startsWith("-")) throw new InvalidInputError(`--repo ${shown}: must not begin with "-"`);
  const scheme = SCHEME.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== undefined) return { kind: "url", url: parseHttpUrl(raw, scheme, shown) };
  if (/^(?:https?|ssh|git|file):/i.test(raw)) throw new InvalidInputError(`--repo ${shown}: not a valid URL (expected scheme://host/path)`);
  if (REMOTE_HELPER.test(raw)) {
    throw new InvalidInputError(`--repo ${shown}: Git remote helpers ("transport::address") are refused; use an https:// URL`);
  }
  const scp = scpLike(raw);
  if (scp) {
    throw new InvalidInputError(
      `--repo ${JSON.stringify(`${scp.host}:${scp.path}`)}: SSH addresses are refused (bosun fetches over HTTPS only); ` +
        `use ${JSON.stringify(`https://${scp.host}/${scp.path}`)} and set BOSUN_GIT_TOKEN`,
    );
  }
  return { kind: "path", path: path.resolve(cwd, raw) };
}

function parseHttpUrl(raw: string, scheme: string, shown: string): string {
  if (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git") {
    throw new InvalidInputError(`--repo ${shown}: SSH is refused (bosun fetches over HTTPS only); use the https:// URL and BOSUN_GIT_TOKEN`);
  }
  if (scheme === "git") {
    throw new InvalidInputError(`--repo ${shown}: the git:// protocol is unauthenticated and unencrypted; use the https:// URL`);
  }
  if (scheme === "file") {
    throw new InvalidInputError(`--repo ${shown}: file:// URLs are refused; give the repository's directory as a path`);
  }
  if (scheme !== "https" && scheme !== "http") {
    throw new InvalidInputError(`--repo ${shown}: unsupported scheme ${scheme}://; give an https:// or http:// URL or a local path`);
  }
  // WHATWG URL parsing would read `https:///x` as host `x`; Git would not.
  if (raw.slice(raw.indexOf("://") + 3).startsWith("/")) throw new InvalidInputError(`--repo ${shown}: no host`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError(`--repo ${shown}: not a valid URL`);
  }
  if (url.username !== "" || url.password !== "") {
    // Credentials on the command line end up in shell history, process listings and CI logs.
    throw new InvalidInputError(
      `--repo ${shown}: URLs with embedded credentials are refused; ` +
        "set BOSUN_GIT_TOKEN (or BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD) in the environment instead",
    );
  }
  // Query strings are where some hosts take access tokens; a fragment means nothing to Git. Neither may
  // end up in a plan's recorded source.
  if (url.search !== "" || url.hash !== "" || raw.includes("?") || raw.includes("#")) {
    throw new InvalidInputError(`--repo ${shown}: query strings and fragments are not supported in a Git URL`);
  }
  if (url.hostname === "") throw new InvalidInputError(`--repo ${shown}: no host`);
  // isomorphic-git appends `/info/refs`; a trailing slash would double it and split the cache key.
  return url.href.replace(/\/+$/, "");
}

/** Git's rule: no `://`, and a colon before the first slash, is `[user@]host:path` over SSH. */
function scpLike(raw: string): { host: string; path: string } | undefined {
  const colon = raw.indexOf(":");
  if (colon < 0) return undefined;
  const slash = raw.indexOf("/");
  if (slash >= 0 && slash < colon) return undefined;
  const hostPart = raw.slice(0, colon);
  const host = hostPart.slice(hostPart.lastIndexOf("@") + 1);
  return { host, path: raw.slice(colon + 1).replace(/^\/+/, "") };
}

/**
 * A `--repo` value safe to show in a message: userinfo replaced by `***`, query and fragment cut, control
 * characters replaced by U+FFFD.
 */
export function redactLocation(raw: string): string {
  // eslint-disable-next-line no-control-regex -- see CONTROL
  let text = raw.replace(/[\u0000-\u001f\u007f]/g, "\ufffd");
  const scheme = SCHEME.exec(text);
  if (scheme) {
    const rest = text.slice(scheme[0].length);
    const authorityEnd = rest.search(/[/?#]/);
    const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
    const tail = authorityEnd < 0 ? "" : rest.slice(authorityEnd);
    const at = authority.lastIndexOf("@");
    text = scheme[0] + (at < 0 ? authority : `***@${authority.slice(at + 1)}`) + tail;
    const cut = text.search(/[?#]/);
    if (cut >= 0) text = `${text.slice(0, cut)}?…`;
  }
  return text;
}

/**
 * Parses `--ref`: a full 40-hex commit id (normalised to lower case) or a valid Git ref name
 * (`git check-ref-format --allow-onelevel`), refusing anything that begins with `-`. Throws an
 * `InvalidInputError` naming `--ref`.
 */
export function parseRef(raw: string): GitRefSpec {
  const problem = refProblem(raw);
  if (problem !== undefined) throw new InvalidInputError(`--ref ${JSON.stringify(raw)}: ${problem}`);
  if (FULL_COMMIT.test(raw)) return { kind: "commit", oid: raw.toLowerCase() };
  return { kind: "name", name: raw };
}

/** Why a ref is invalid, or undefined when it is a valid ref name or commit id. */
export function refProblem(ref: string): string | undefined {
  if (ref.length === 0) return "empty; give a branch, a tag or a full commit id";
  if (ref.length > MAX_REF_LENGTH) return `longer than ${MAX_REF_LENGTH} characters`;
  if (ref.startsWith("-")) return 'must not begin with "-"';
  if (CONTROL.test(ref)) return "contains control characters";
  if (ref.includes(" ")) return "contains a space";
  if (ref.includes("..")) return 'contains ".."';
  if (ref.includes("@{")) return 'contains "@{"';
  if (ref === "@") return 'is "@"';
  const bad = /[~^:?*[\\]/.exec(ref);
  if (bad) return `contains ${JSON.stringify(bad[0])}`;
  if (ref.startsWith("/") || ref.endsWith("/")) return 'must not begin or end with "/"';
  if (ref.includes("//")) return 'contains "//"';
  if (ref.endsWith(".")) return 'must not end with "."';
  for (const component of ref.split("/")) {
    if (component.startsWith(".")) return `has a component beginning with "." (${JSON.stringify(component)})`;
    if (component.endsWith(".lock")) return `has a component ending with ".lock" (${JSON.stringify(component)})`;
  }
  return undefined;
}
