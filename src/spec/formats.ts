/**
 * The string formats the schemas name (`"format": "duration"`, …). Each check returns what is wrong with a
 * value, or undefined when it is fine, so ajv and bosun's own messages share one definition: ajv decides
 * validity with it and the error message is the check's own explanation.
 */
import semver from "semver";
import { parseCron } from "./cron.js";
import { parseDuration } from "./duration.js";

/** A format check: undefined when the value is fine, else what is wrong with it. */
export type FormatCheck = (value: string) => string | undefined;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const K8S_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function dnsLabel(value: string): string | undefined {
  if (DNS_LABEL.test(value) && value.length <= 63) return undefined;
  return `"${value}" is not a DNS-1123 label: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`;
}

function k8sVersion(value: string): string | undefined {
  if (K8S_VERSION.test(value)) return undefined;
  if (K8S_VERSION.test(value.replace(/^v/, ""))) return `"${value}": write the version without the leading v ("${value.slice(1)}")`;
  return `"${value}" is not a Kubernetes version MAJOR.MINOR.PATCH, e.g. "1.34.2"`;
}

function chartVersion(value: string): string | undefined {
  if (semver.valid(value) !== null) return undefined;
  if (semver.validRange(value) !== null) return `"${value}" is a version range, not a pinned chart version: name one exact version, e.g. "1.2.3"`;
  return `"${value}" is not a chart version (a semantic version such as "1.2.3")`;
}

function duration(value: string): string | undefined {
  const parsed = parseDuration(value);
  return "problem" in parsed ? parsed.problem : undefined;
}

function cron(value: string): string | undefined {
  const parsed = parseCron(value);
  return "problem" in parsed ? parsed.problem : undefined;
}

/** Zones already checked: building an Intl.DateTimeFormat is slow, and a fleet repeats a handful of zones. */
const knownZones = new Map<string, boolean>();

function timeZone(value: string): string | undefined {
  let valid = knownZones.get(value);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: value });
      valid = true;
    } catch {
      valid = false;
    }
    knownZones.set(value, valid);
  }
  return valid ? undefined : `"${value}" is not an IANA time zone such as Europe/Berlin, America/New_York or UTC`;
}

function labelKey(value: string): string | undefined {
  const slash = value.lastIndexOf("/");
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = value.slice(slash + 1);
  const prefixOk = prefix === undefined || (DNS_SUBDOMAIN.test(prefix) && prefix.length <= 253);
  if (prefixOk && LABEL_NAME.test(name) && name.length <= 63) return undefined;
  return `"${value}" is not a label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'`;
}

function labelValue(value: string): string | undefined {
  if (value === "" || (LABEL_NAME.test(value) && value.length <= 63)) return undefined;
  return `"${value}" is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

function hostPort(value: string): string | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3] ?? "0");
  if (match && port >= 1 && port <= 65535) return undefined;
  return `"${value}" is not host:port, e.g. api.example.com:6443`;
}

function envVarName(value: string): string | undefined {
  if (ENV_NAME.test(value)) return undefined;
  return `"${value}" is not an environment variable name (letters, digits and '_', not starting with a digit)`;
}

/** Every format the schemas use, by name. */
export const FORMATS: Readonly<Record<string, FormatCheck>> = {
  "dns-label": dnsLabel,
  "k8s-version": k8sVersion,
  "chart-version": chartVersion,
  duration,
  cron,
  "time-zone": timeZone,
  "label-key": labelKey,
  "label-value": labelValue,
  "host-port": hostPort,
  "env-var-name": envVarName,
};

/** The formats in the shape ajv's generated validators look them up (`./validators.generated.ts`). */
export const AJV_FORMATS: Readonly<Record<string, { type: "string"; validate: (value: string) => boolean }>> = Object.fromEntries(
  Object.entries(FORMATS).map(([name, check]) => [name, { type: "string", validate: (value: string) => check(value) === undefined }]),
);
