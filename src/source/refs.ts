/**
 * Which ref a `--ref` name means, decided the same way for a remote's advertised refs and a local
 * repository's refs. A short name may be a branch or a tag; when it is both, bosun refuses to guess
 * (git would pick the tag with only a warning, `git clone --branch` the branch) and asks for the full name.
 */
import { InvalidInputError } from "../errors.js";
import { refProblem } from "./validate.js";

/** A ref as listed by a server (`git ls-remote`) or read from a repository. */
export interface ListedRef {
  /** Full name: `HEAD`, `refs/heads/main`, `refs/tags/v1`. */
  ref: string;
  /** The object the ref points to: a commit, or an annotated tag. */
  oid: string;
  /** For an annotated tag, the object it points to, when the lister knows it. */
  peeled?: string | undefined;
  /** For a symbolic ref such as HEAD, the ref it points to. */
  target?: string | undefined;
}

/** What kind of ref matched; tags are fetched with their tag object, branches are tracked. */
export type RefKind = "branch" | "tag" | "other";

/** The ref a name resolved to. */
export interface MatchedRef {
  /** Full name to fetch (a symbolic HEAD is replaced by its target). */
  fullref: string;
  kind: RefKind;
  /** The object listed for it (for an annotated tag, the tag object). */
  oid: string;
  /** For an annotated tag, the object it points to, when the listing says. */
  peeled: string | undefined;
}

/** How short names are looked up. */
export interface MatchOptions {
  /**
   * Also accept `refs/remotes/<name>` (`origin/main`) when no branch or tag matches: sensible for a local
   * repository, whose remote-tracking refs are what a CI checkout has; a server advertises none.
   */
  remoteTracking?: boolean;
}

/**
 * Resolves `name` against `refs`: `HEAD`, a full `refs/…` name, or a short name that is exactly one of
 * `refs/heads/<name>` and `refs/tags/<name>` (else, if allowed, `refs/remotes/<name>`). Throws an `InvalidInputError` naming `--ref` when it is
 * neither or both; `where` names the repository in that message.
 */
export function matchRef(name: string, refs: readonly ListedRef[], where: string, options: MatchOptions = {}): MatchedRef {
  const byName = new Map(refs.map((r) => [r.ref, r]));
  if (name === "HEAD") {
    const head = byName.get("HEAD");
    if (head === undefined) throw notFound(name, refs, where);
    // The target comes from the server: use it only if it is a well-formed ref name.
    const target = head.target !== undefined && refProblem(head.target) === undefined ? head.target : "HEAD";
    return matched(target, head);
  }
  if (name.startsWith("refs/")) {
    const exact = byName.get(name);
    if (exact === undefined) throw notFound(name, refs, where);
    return matched(name, exact);
  }
  const branch = byName.get(`refs/heads/${name}`);
  const tag = byName.get(`refs/tags/${name}`);
  if (branch !== undefined && tag !== undefined) {
    throw new InvalidInputError(
      `--ref ${JSON.stringify(name)}: both a branch and a tag in ${where}; give refs/heads/${name} or refs/tags/${name}`,
    );
  }
  if (branch !== undefined) return matched(`refs/heads/${name}`, branch);
  if (tag !== undefined) return matched(`refs/tags/${name}`, tag);
  const tracking = options.remoteTracking === true ? byName.get(`refs/remotes/${name}`) : undefined;
  if (tracking !== undefined) return matched(`refs/remotes/${name}`, tracking);
  throw notFound(name, refs, where);
}

function matched(fullref: string, listed: ListedRef): MatchedRef {
  const kind: RefKind = fullref.startsWith("refs/heads/") ? "branch" : fullref.startsWith("refs/tags/") ? "tag" : "other";
  return { fullref, kind, oid: listed.oid, peeled: listed.peeled };
}

/** How many branch and tag names a not-found message lists. */
const LISTED_NAMES = 10;

/** `--ref X: ref X not found in <where>`, with the branches and tags that do exist. */
export function notFound(name: string, refs: readonly ListedRef[], where: string): InvalidInputError {
  const hints: string[] = [];
  if (/^[0-9a-fA-F]{4,39}$/.test(name)) hints.push("an abbreviated commit id is not enough: give all 40 hex digits");
  const branches = shortNames(refs, "refs/heads/");
  const tags = shortNames(refs, "refs/tags/");
  if (branches.length === 0 && tags.length === 0) hints.push("the repository has no branches or tags");
  else hints.push(`branches: ${listNames(branches)}; tags: ${listNames(tags)}`);
  return new InvalidInputError(`--ref ${JSON.stringify(name)}: ref ${name} not found in ${where} (${hints.join("; ")})`);
}

function shortNames(refs: readonly ListedRef[], prefix: string): string[] {
  return refs
    .map((r) => r.ref)
    // Names come from the server: show only well-formed ones, never raw control sequences.
    .filter((r) => r.startsWith(prefix) && refProblem(r) === undefined)
    .map((r) => r.slice(prefix.length))
    .sort();
}

function listNames(names: readonly string[]): string {
  if (names.length === 0) return "none";
  const shown = names.slice(0, LISTED_NAMES).join(", ");
  return names.length > LISTED_NAMES ? `${shown}, … (${names.length} in all)` : shown;
}
