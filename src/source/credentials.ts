/**
 * Git credentials, from the environment only: `BOSUN_GIT_TOKEN`, or `BOSUN_GIT_USERNAME` with
 * `BOSUN_GIT_PASSWORD`. They reach isomorphic-git only through its `onAuth` callback, so they are sent when
 * a server asks (HTTP 401) and are never written into the cache's `.git/config`, a URL, a message or a log.
 * The values live in closures, so inspecting any object this module returns cannot print them.
 */
import type { AuthCallback, AuthFailureCallback } from "isomorphic-git";
import { InvalidInputError } from "../errors.js";

/** Where the credentials came from, for messages that tell the user what to fix. Never the values. */
export type CredentialSource = "BOSUN_GIT_TOKEN" | "BOSUN_GIT_USERNAME/BOSUN_GIT_PASSWORD";

/** Basic-auth credentials for Git over HTTPS. */
export interface GitCredentials {
  readonly source: CredentialSource;
  /** Returns the username and password; a function so that logging this object shows no secret. */
  readonly reveal: () => { username: string; password: string };
}

/**
 * Username sent with `BOSUN_GIT_TOKEN`. GitHub, GitLab and Gitea accept any username with a token as the
 * password; `x-access-token` is what GitHub documents for app and Actions tokens.
 */
export const TOKEN_USERNAME = "x-access-token";

/**
 * Reads credentials from `env`. Unset or empty variables count as absent; setting both styles, or only one
 * of username and password, is refused rather than guessed at.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): GitCredentials | undefined {
  const token = nonEmpty(env.BOSUN_GIT_TOKEN);
  const username = nonEmpty(env.BOSUN_GIT_USERNAME);
  const password = nonEmpty(env.BOSUN_GIT_PASSWORD);
  if (token !== undefined && (username !== undefined || password !== undefined)) {
    throw new InvalidInputError("set either BOSUN_GIT_TOKEN or BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD, not both");
  }
  if (token !== undefined) {
    return { source: "BOSUN_GIT_TOKEN", reveal: () => ({ username: TOKEN_USERNAME, password: token }) };
  }
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) throw new InvalidInputError("BOSUN_GIT_PASSWORD is set but BOSUN_GIT_USERNAME is not");
  if (password === undefined) throw new InvalidInputError("BOSUN_GIT_USERNAME is set but BOSUN_GIT_PASSWORD is not");
  return { source: "BOSUN_GIT_USERNAME/BOSUN_GIT_PASSWORD", reveal: () => ({ username, password }) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** What happened to the credentials during one Git conversation, for the error message if it fails. */
export interface AuthOutcome {
  /** Which variables were set, if any. */
  readonly source: CredentialSource | undefined;
  /** The server asked (HTTP 401) and bosun answered with the credentials. */
  offered: boolean;
  /** The server asked over plain http to a non-loopback host, and bosun refused to send them. */
  refusedInsecure: boolean;
}

/** The callbacks handed to isomorphic-git, with the record of what they did. */
export interface AuthSession {
  readonly outcome: AuthOutcome;
  readonly onAuth: AuthCallback;
  readonly onAuthFailure: AuthFailureCallback;
}

/**
 * Callbacks that answer the first 401 with `credentials` and give up on the second (isomorphic-git calls
 * `onAuthFailure` when the server rejects what `onAuth` returned; returning nothing ends in an HTTP 401
 * error instead of a retry loop). Credentials go over plain `http://` only to a loopback host: anywhere
 * else they would cross the network in clear text.
 */
export function authSession(credentials: GitCredentials | undefined): AuthSession {
  const outcome: AuthOutcome = { source: credentials?.source, offered: false, refusedInsecure: false };
  return {
    outcome,
    onAuth: (url) => {
      if (credentials === undefined) return undefined;
      if (!safeToSend(url)) {
        outcome.refusedInsecure = true;
        return { cancel: true };
      }
      outcome.offered = true;
      return credentials.reveal();
    },
    onAuthFailure: () => undefined,
  };
}

function safeToSend(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === "https:") return true;
  return parsed.protocol === "http:" && isLoopback(parsed.hostname);
}

/** True for `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Every form in which the credentials could appear in text: the secret itself and the basic-auth header
 * value. Used to scrub messages from lower layers before they are kept as an error's cause.
 */
export function secretForms(credentials: GitCredentials | undefined): string[] {
  if (credentials === undefined) return [];
  const { username, password } = credentials.reveal();
  const basic = Buffer.from(`${username}:${password}`).toString("base64");
  return [password, basic, encodeURIComponent(password)].filter((s) => s.length >= 4);
}

/** Replaces every occurrence of each secret in `text` with `***` (the one scrubber, `src/scrub.ts`). */
export { scrub } from "../scrub.js";
