/**
 * The shared state store: one ConfigMap per key in a namespace of the state cluster, so that every replica
 * of the daemon (and a restarted one) reads the same truth (STYLE item 15). The ConfigMap
 * `bosun-state-<key>` holds the document as JSON under `state.json`; its `resourceVersion` is the
 * document's version, so a write names the version it read and the API server refuses it (409) when
 * another writer came first — the compare-and-swap {@link updateState} retries on.
 *
 * The namespace is not created here: it is where the operator granted the daemon its RBAC (get, create,
 * update on ConfigMaps and Leases), so a missing one is a deployment mistake reported as such, not
 * something to paper over with a namespace nobody granted anything in.
 *
 * Every request goes through `KubeRest` (its deadline, its signal, its User-Agent).
 */
import { createHash } from "node:crypto";
import { BosunError, InvalidInputError } from "../errors.js";
import { MANAGED_BY_BOSUN } from "../constants.js";
import { httpStatus } from "../kube/errors.js";
import type { KubeRest } from "../kube/rest.js";
import { StateConflictError, type StateStore, type Versioned } from "./state.js";

/** The prefix of every state ConfigMap's name. */
export const STATE_CONFIGMAP_PREFIX = "bosun-state-";
/** The data key holding the document. */
export const STATE_DATA_KEY = "state.json";
/** The label naming the state key a ConfigMap holds (for `kubectl get cm -l bosun.dev/state`). */
export const STATE_LABEL = "bosun.dev/state";
/**
 * The largest document stored: the API server refuses a ConfigMap whose data exceeds 1 MiB. A document
 * approaching it means approvals or drift diffs piled up; refusing with a clear error beats a 422 naming
 * the ConfigMap's size limit only.
 */
export const MAX_STATE_DOCUMENT_BYTES = 1024 * 1024;

const KEY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Object names are DNS-1123 subdomains of at most 253 characters. */
const MAX_NAME = 253;

/** Options of a {@link ConfigMapStateStore}. */
export interface ConfigMapStateStoreOptions {
  /** The state cluster's name or context, for {@link StateStore.description}; the client's cluster name by default. */
  context?: string;
}

interface ConfigMapBody {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: { name: string; namespace: string; labels: Record<string, string>; resourceVersion?: string };
  data: Record<string, string>;
}

interface StoredConfigMap {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

/** A {@link StateStore} over ConfigMaps in `namespace` of the cluster `rest` talks to (which must exist). */
export class ConfigMapStateStore implements StateStore {
  readonly description: string;

  constructor(
    private readonly rest: KubeRest,
    private readonly namespace: string,
    options: ConfigMapStateStoreOptions = {},
  ) {
    if (!KEY.test(namespace) || namespace.length > 63) throw new InvalidInputError(`state namespace ${JSON.stringify(namespace)} is not a DNS-1123 label`);
    this.description = `ConfigMaps in ${namespace} of context ${options.context ?? rest.cluster}`;
  }

  /**
   * Checks that the namespace exists and that the daemon may create ConfigMaps in it, with a dry-run
   * create (nothing is stored): a missing namespace or missing RBAC is reported at start-up instead of at
   * the first write, which may come hours later.
   */
  async check(): Promise<void> {
    const body = this.body("check", {}, undefined);
    const response = await this.rest.send({ method: "POST", path: this.collection(), query: { dryRun: "All" }, body: JSON.stringify(body), contentType: "application/json" });
    if (response.status === 404) throw this.missingNamespace();
    if (response.status === 403) throw new BosunError(`${this.where()}: the daemon's credentials may not create ConfigMaps there (HTTP 403); grant them get, create and update on configmaps in ${this.namespace}`, { reason: "Unauthorized" });
    if (response.status >= 300 && response.status !== 409) throw new BosunError(`${this.where()}: a dry-run create of a state ConfigMap failed (HTTP ${response.status})`, { reason: "KubeApi", retryable: response.status >= 500 });
  }

  async read(key: string): Promise<Versioned<unknown> | null> {
    const name = configMapName(key);
    const stored = await this.rest.get<StoredConfigMap>(this.path(name));
    if (stored === null) return null;
    const text = stored.data?.[STATE_DATA_KEY];
    if (text === undefined) throw this.invalid(name, `has no ${STATE_DATA_KEY}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Not the parser's message: it quotes the document, which is the daemon's and may be long.
      throw this.invalid(name, `${STATE_DATA_KEY} is not JSON (${text.length} characters)`);
    }
    const version = stored.metadata?.resourceVersion;
    if (version === undefined || version === "") throw this.invalid(name, "has no resourceVersion");
    return { value, version };
  }

  async write(key: string, value: unknown, version: string | null): Promise<string> {
    const name = configMapName(key);
    const text = JSON.stringify(value);
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_STATE_DOCUMENT_BYTES) {
      throw new BosunError(`state ${key}: the document is ${bytes} bytes as JSON, more than the ${MAX_STATE_DOCUMENT_BYTES} bytes a ConfigMap holds; not written (${this.where()})`, { reason: "InvalidState" });
    }
    const body = this.body(key, { [STATE_DATA_KEY]: text }, version ?? undefined);
    try {
      const written =
        version === null
          ? await this.rest.create<StoredConfigMap>(this.collection(), body, `create ConfigMap ${this.namespace}/${name}`)
          : await this.rest.replace<StoredConfigMap>(this.path(name), body, `replace ConfigMap ${this.namespace}/${name}`);
      const next = written.metadata?.resourceVersion;
      if (next === undefined || next === "") throw this.invalid(name, "came back without a resourceVersion");
      return next;
    } catch (error) {
      const status = httpStatus(error);
      // 409 on create: it exists (someone created it first); 409 on replace: its resourceVersion moved on.
      if (status === 409) throw new StateConflictError(key);
      if (status === 404) {
        // A create that finds no namespace; a replace of a ConfigMap deleted since it was read is a lost
        // race like any other (the next read sees none and creates it).
        if (version === null) throw this.missingNamespace(error);
        throw new StateConflictError(key);
      }
      throw error;
    }
  }

  private body(key: string, data: Record<string, string>, resourceVersion: string | undefined): ConfigMapBody {
    return {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: configMapName(key),
        namespace: this.namespace,
        labels: { ...MANAGED_BY_BOSUN, [STATE_LABEL]: stateLabelValue(key) },
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      data,
    };
  }

  private collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  private path(name: string): string {
    return `${this.collection()}/${encodeURIComponent(name)}`;
  }

  private where(): string {
    return `state cluster ${this.rest.cluster}, namespace ${this.namespace}`;
  }

  private missingNamespace(cause?: unknown): InvalidInputError {
    return new InvalidInputError(`${this.where()}: the namespace does not exist; create it (and the daemon's RBAC in it) before starting bosun with this state store`, cause === undefined ? {} : { cause });
  }

  private invalid(name: string, problem: string): BosunError {
    return new BosunError(`state ConfigMap ${this.namespace}/${name} in cluster ${this.rest.cluster} ${problem}`, { reason: "InvalidState" });
  }
}

/** The ConfigMap holding `key`; throws when `key` is not a DNS-1123 label or the name would be too long. */
export function configMapName(key: string): string {
  const name = `${STATE_CONFIGMAP_PREFIX}${key}`;
  if (!KEY.test(key) || name.length > MAX_NAME) {
    throw new BosunError(`state key ${JSON.stringify(key)} is not a DNS-1123 name of at most ${MAX_NAME - STATE_CONFIGMAP_PREFIX.length} characters`, { reason: "Internal" });
  }
  return name;
}

/**
 * The `bosun.dev/state` label's value: the key itself, or — label values stop at 63 characters, and
 * `cluster-<name>` may reach 71 — its start and a hash of the whole, so distinct keys keep distinct values.
 */
export function stateLabelValue(key: string): string {
  if (key.length <= 63) return key;
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 10);
  return `${key.slice(0, 52).replace(/-+$/, "")}-${hash}`;
}
