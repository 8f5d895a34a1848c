/**
 * Installing, upgrading and uninstalling a Helm add-on, each safe to re-run after a crash:
 *
 * 1. **render** — exactly as `bosun plan` renders it (`renderAddon` with the cluster's capabilities): values
 *    files, inline values, then secret values from the environment.
 * 2. **compare** — a release that is `deployed` with the same chart, chart version and values (compared as
 *    `observe.ts` compares them) and whose objects did not drift (server-side dry-run as field manager
 *    `helm`) is left alone: a resumed run never makes a new revision for a finished step.
 * 3. **inventory (intent)** — the add-on's entry (kind helm, the secret values' paths) is written before
 *    helm acts, so a crash never leaves a release bosun does not know it installed.
 * 4. **recover** — Helm refuses to touch a release whose latest revision is `pending-*` ("another operation
 *    is in progress"); bosun holds the cluster's lock, so such a release was left by an interrupted run.
 *    But the interrupted run's helm may still be at work: killing bosun does not kill the helm it started,
 *    and the lock of a crashed run is taken over at once on the same machine (after its lease elsewhere).
 *    So a pending revision younger than the add-on's timeout (plus a margin) is first waited for
 *    ({@link settleWaitMs}): usually helm finishes it (deployed — often already what the spec wants — or
 *    failed and rolled back). Only a revision older than that has no helm behind it and is recovered:
 *    `pending-install` (or `uninstalling`) is uninstalled and installed afresh; `pending-upgrade` and
 *    `pending-rollback` are rolled back to the last revision that was deployed, then upgraded. (Recovering
 *    at once, while the orphaned helm still waited, rolled its work back under it, and when it finished
 *    it marked its revision deployed too: two deployed revisions in one history.)
 * 5. **apply** — `helm upgrade --install` with the values in a private temp file (never `--set`), the
 *    cluster's kubeconfig and context, `--namespace` + `--create-namespace`, `--wait` (and
 *    `--wait-for-jobs`) up to the add-on's `timeoutSeconds`, rollback on failure (Helm 4
 *    `--rollback-on-failure`, Helm 3 `--atomic`: a failed upgrade returns to the last deployed revision, a
 *    failed first install is uninstalled), `--force-conflicts` on Helm 4 (a field changed by hand would
 *    otherwise fail the upgrade and its rollback), and the release labelled `bosun.dev/addon=<name>`
 *    where helm supports release labels.
 * 6. **inventory** — the entry's secret paths become the spec's (written only when they differ).
 *
 * Release state is read from Helm's release records with one LIST (as `releases.ts` does), never from
 * `helm status`, whose JSON carries the release's rendered objects. Error messages follow the plan's rule
 * (`failureMessage`): for an add-on with secret values helm's own words are withheld and the failed
 * process is not kept as the cause.
 */
import { GROUPS, identity } from "../identity.js";
import { BosunError, InternalError, ProcessError, ToolNotFoundError } from "../errors.js";
import { httpStatus } from "../kube/errors.js";
import { pollUntil } from "../poll.js";
import { UnreachableError, type KubeObject, type KubeRest } from "../kube/rest.js";
import type { ChartFetcher } from "../source/chart-fetch.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import type { DesiredAddon, DesiredCluster, HelmChartSource } from "../spec/types.js";
import { helmHistory, helmRollback, helmUninstall, helmUpgradeInstall, type HelmRevision, type HelmTarget } from "../tools/helm.js";
import { compareObject } from "./compare.js";
import { AddonApplyError, type ApplyPhase } from "./health.js";
import { inventoryEntryOfKind, removeInventoryEntry, writeInventoryEntry, type InventoryEntry } from "./inventory.js";
import { diffValues, failureMessage, HELM_FIELD_MANAGER, readCapabilities } from "./observe.js";
import { decodeReleaseSecret, latestReleaseSecrets, type HelmReleaseRecord, type ReleaseSecret } from "./releases.js";
import { ADDON_LABEL } from "../constants.js";
import { AddonRenderError, helmChartRef, helmNamespace, ownString, renderAddon, type RenderedHelmAddon } from "./render.js";

/** What the Helm verbs need: the cluster's REST client, and how helm reaches the cluster. */
export interface HelmApplyContext {
  /**
   * One cluster's REST client (release records, inventory, dry-runs); its `cluster` names the cluster, and
   * its signal (the run's: a lost lock, SIGTERM) also stops helm.
   */
  rest: KubeRest;
  /** The kubeconfig file and context helm is pointed at (`--kubeconfig`, `--kube-context`). */
  target: HelmTarget;
  /** The helm executable (else BOSUN_HELM, PATH, bosun's binary cache). */
  helm?: string;
  /** The operator's allowances for chart repositories, checked before helm fetches (default: public only). */
  repoPolicy?: RepoPolicy;
  /** The run's chart fetcher (a repository index read once, an OCI chart pulled once); default one per render. */
  charts?: ChartFetcher;
  /** Progress, one line at a time (never a value). */
  log?: (line: string) => void;
  /**
   * How long after it was written a `pending-*` revision may still be in the hands of a running helm
   * (seconds): waited for before it is recovered. Default: the add-on's timeout plus
   * {@link SETTLE_MARGIN_SECONDS}. 0 recovers at once — for a caller that knows no helm is behind it.
   */
  pendingGraceSeconds?: number;
}

/** What `applyHelmAddon` did. */
export type HelmApplyOutcome = "installed" | "upgraded" | "unchanged" | "recovered-and-upgraded";

/** The outcome and the release's revision afterwards. */
export interface HelmApplyResult {
  outcome: HelmApplyOutcome;
  revision: number;
}

/** What `uninstallHelmAddon` did: `absent` when there was no release (the inventory entry is dropped either way). */
export interface HelmUninstallResult {
  outcome: "uninstalled" | "absent";
}

/** Statuses of a release an interrupted helm process leaves behind, and how each is recovered. */
export type Recovery = "none" | "reinstall" | "rollback";

/** How a release whose latest revision has `status` is recovered before an upgrade. Pure. */
export function recoveryFor(status: string): Recovery {
  switch (status) {
    case "pending-install":
    case "uninstalling":
      return "reinstall";
    case "pending-upgrade":
    case "pending-rollback":
      return "rollback";
    default:
      return "none";
  }
}

/** Time a helm process is given beyond its own timeout before its pending revision counts as abandoned. */
export const SETTLE_MARGIN_SECONDS = 30;
/** How often a pending release is read again while waiting for it to settle. */
const SETTLE_POLL_MS = 2_000;

/**
 * How long to wait, from `now`, before a release revision left `pending-*` since `pendingSince` may be
 * recovered: 0 once it is older than `graceSeconds` — by default the add-on's timeout plus
 * {@link SETTLE_MARGIN_SECONDS}, since helm gives up waiting by then (and its rollback would be a newer
 * revision) — or when its age is unknown. Pure.
 */
export function settleWaitMs(pendingSince: Date | undefined, graceSeconds: number, now: Date): number {
  if (pendingSince === undefined || Number.isNaN(pendingSince.getTime())) return 0;
  return Math.max(0, pendingSince.getTime() + graceSeconds * 1000 - now.getTime());
}

/**
 * The release's latest revision once it is no longer in the hands of a helm process: immediately unless it
 * is `pending-*` and young (see {@link settleWaitMs}); otherwise read again every few seconds until it
 * settles or is old enough to be recovered.
 */
async function settledRelease(ctx: HelmApplyContext, addon: DesiredAddon, namespace: string, log: (line: string) => void): Promise<HelmReleaseRecord | undefined> {
  let announced: number | undefined;
  // No deadline of its own: every check ends the wait once the pending revision is old enough.
  return pollUntil<HelmReleaseRecord | undefined>(
    async () => {
      const latest = await latestReleaseWithAge(ctx.rest, addon.name, namespace);
      if (!latest || recoveryFor(latest.record.status) === "none") return { done: true, value: latest?.record };
      const wait = settleWaitMs(latest.since, ctx.pendingGraceSeconds ?? addon.timeoutSeconds + SETTLE_MARGIN_SECONDS, new Date());
      if (wait <= 0) return { done: true, value: latest.record };
      if (announced !== latest.record.revision) {
        announced = latest.record.revision;
        log(`release is ${latest.record.status} at revision ${latest.record.revision}, written ${formatAge(latest.since)} ago: a helm process (of an interrupted run) may still be working on it; waiting up to ${Math.ceil(wait / 1000)} s for it to finish`);
      }
      return { done: false };
    },
    {
      backoff: { initialMs: SETTLE_POLL_MS, maxMs: SETTLE_POLL_MS },
      ...(ctx.rest.signal ? { signal: ctx.rest.signal } : {}),
      onTimeout: () => new InternalError("the settle wait has no deadline"),
    },
  );
}

function formatAge(since: Date | undefined): string {
  return since === undefined ? "?" : `${Math.max(0, Math.round((Date.now() - since.getTime()) / 1000))} s`;
}

/**
 * The revision to roll a stuck release back to: the newest revision before `latest` that was deployed,
 * else the newest superseded one (it was deployed once); undefined when none ever was. Pure.
 */
export function rollbackTarget(history: readonly Pick<HelmRevision, "revision" | "status">[], latest: number): number | undefined {
  const earlier = history.filter((h) => h.revision < latest).sort((a, b) => b.revision - a.revision);
  return (earlier.find((h) => h.status === "deployed") ?? earlier.find((h) => h.status === "superseded"))?.revision;
}

/**
 * Installs or upgrades one Helm add-on in one cluster (see the module comment for the phases) and returns
 * the outcome and the release's revision. `fleetDir` is the fleet checkout the spec's paths are relative
 * to; `env` holds the secret values' variables. Failures: `RenderFailed` (render), `ApplyFailed` with
 * `phase` recover, apply or inventory (the message says what state the release was left in: rolled back
 * to a deployed revision, or uninstalled after a failed first install); an unreachable cluster or a
 * missing helm propagate as they are. `planned.chartDigest` (a step's) pins a repository chart: an archive
 * with another digest now (a re-tagged chart) is refused before anything is written.
 */
export async function applyHelmAddon(
  ctx: HelmApplyContext,
  cluster: Pick<DesiredCluster, "name">,
  addon: DesiredAddon,
  fleetDir: string,
  env: Readonly<Record<string, string | undefined>>,
  planned: { chartDigest?: string } = {},
): Promise<HelmApplyResult> {
  const source = addon.source;
  if (source.kind !== "helm") throw new InternalError(`applyHelmAddon called for the Kustomize add-on ${addon.name}`);
  const namespace = helmNamespace(addon);
  const log = (line: string): void => ctx.log?.(`${cluster.name}: add-on ${addon.name}: ${line}`);
  const knownSecrets = source.secretValues.map((s) => ownString(env, s.env)).filter((v): v is string => v !== undefined);
  const fail = failWith(addon, knownSecrets);

  const entry = await inventoryEntryOfKind(ctx.rest, addon.name, "helm");
  const rendered = await render(ctx, addon, fleetDir, env, knownSecrets);
  if (planned.chartDigest !== undefined && rendered.chartDigest !== planned.chartDigest) {
    throw new AddonApplyError(
      addon.name,
      "apply",
      `add-on ${addon.name}: chart ${rendered.chart} ${rendered.chartVersion} changed since the plan: the plan rendered sha256:${planned.chartDigest}, the repository now serves ${rendered.chartDigest === undefined ? "no pinned archive" : `sha256:${rendered.chartDigest}`} (the version was published again); nothing was installed — plan again`,
    );
  }
  const secrets = [...knownSecrets, ...rendered.secrets];
  const helmTimeout = `${addon.timeoutSeconds}s`;
  // Helm's own timeout covers the wait; a rollback after it waits as long again.
  const timeoutMs = (2 * addon.timeoutSeconds + 120) * 1000;
  const helmOptions = { ...(ctx.helm === undefined ? {} : { helm: ctx.helm }), timeoutMs, ...(ctx.rest.signal ? { signal: ctx.rest.signal } : {}) };

  const secretPaths = source.secretValues.map((s) => s.path);
  // settle: a pending revision that a helm process may still be working on is waited for first.
  let before = await settledRelease(ctx, addon, namespace, log);
  const recovery = before ? recoveryFor(before.status) : "none";

  // compare
  if (before?.status === "deployed" && (await unchanged(ctx.rest, before, rendered, [...secretPaths, ...(entry?.secretPaths ?? [])]))) {
    await recordInventory(ctx, addon, namespace, entry, secretPaths, fail);
    log(`unchanged at revision ${before.revision}`);
    return { outcome: "unchanged", revision: before.revision };
  }

  // inventory (intent): recorded before helm acts, so a crash never leaves a release bosun does not know
  // it installed; the secret paths of the release still in place stay recorded until it is replaced.
  const recorded = await recordInventory(ctx, addon, namespace, entry, uniquePaths([...(entry?.secretPaths ?? []), ...secretPaths]), fail);

  // recover
  let recovered = false;
  if (before && recovery !== "none") {
    log(`release is ${before.status} at revision ${before.revision} (an interrupted run): recovering`);
    try {
      const target = recovery === "rollback" ? rollbackTarget(await helmHistory(ctx.target, addon.name, namespace, helmOptions), before.revision) : undefined;
      if (target === undefined) {
        await helmUninstall(ctx.target, addon.name, namespace, helmOptions, { helmTimeout, ignoreNotFound: true });
        log(`uninstalled the stuck release`);
      } else {
        await helmRollback(ctx.target, addon.name, namespace, target, helmOptions, { wait: true, helmTimeout, forceConflicts: true });
        log(`rolled back to revision ${target}`);
      }
    } catch (error) {
      throw fail("recover", `could not recover the release left ${before.status} at revision ${before.revision}`, error);
    }
    recovered = true;
    before = await latestRelease(ctx.rest, addon.name, namespace);
  }

  // apply
  log(`helm upgrade --install (chart ${rendered.chart} ${rendered.chartVersion})`);
  try {
    await helmUpgradeInstall(
      ctx.target,
      {
        release: addon.name,
        namespace,
        // A repository chart is installed from the archive the render verified, never fetched again by helm.
        chart: rendered.chartFile ?? helmChartRef(source, fleetDir),
        values: rendered.values,
        createNamespace: true,
        wait: true,
        waitForJobs: true,
        helmTimeout,
        rollbackOnFailure: true,
        forceConflicts: true,
        labels: { [ADDON_LABEL]: addon.name },
      },
      helmOptions,
    );
  } catch (error) {
    if (error instanceof UnreachableError || error instanceof ToolNotFoundError || ctx.rest.signal?.aborted) throw error;
    const after = await latestRelease(ctx.rest, addon.name, namespace).catch(() => "unknown" as const);
    // A failed first install left nothing behind (helm uninstalled it): neither does the inventory.
    if (after === undefined && entry === undefined) await removeInventoryEntry(ctx.rest, addon.name).catch(() => undefined);
    throw fail("apply", `helm upgrade --install failed; ${leftState(after, before)}`, error, secrets);
  }
  const after = await latestRelease(ctx.rest, addon.name, namespace);
  if (after?.status !== "deployed") {
    throw fail("apply", `helm upgrade --install succeeded but the release is ${after ? `${after.status} at revision ${after.revision}` : "gone"}`);
  }
  await recordInventory(ctx, addon, namespace, recorded, secretPaths, fail);
  const outcome: HelmApplyOutcome = recovered ? "recovered-and-upgraded" : before ? "upgraded" : "installed";
  log(`${outcome}: revision ${after.revision}`);
  return { outcome, revision: after.revision };
}

/**
 * Uninstalls one Helm add-on's release (`helm uninstall --wait`) and drops its inventory entry. Idempotent:
 * a release that is already gone only has its entry dropped (`absent`). The namespace `--create-namespace`
 * made is left, as Helm leaves it. Failures are `ApplyFailed` with phase uninstall; helm's words are
 * withheld when the inventory says the release had secret values.
 */
export async function uninstallHelmAddon(ctx: HelmApplyContext, name: string, namespace: string): Promise<HelmUninstallResult> {
  const entry = await inventoryEntryOfKind(ctx.rest, name, "helm");
  const release = await latestRelease(ctx.rest, name, namespace);
  if (release) {
    const helmOptions = { ...(ctx.helm === undefined ? {} : { helm: ctx.helm }), ...(ctx.rest.signal ? { signal: ctx.rest.signal } : {}) };
    try {
      await helmUninstall(ctx.target, name, namespace, helmOptions, { ignoreNotFound: true });
    } catch (error) {
      if (error instanceof UnreachableError || error instanceof ToolNotFoundError || ctx.rest.signal?.aborted) throw error;
      // The inventory remembers whether the release had secret values; if so, helm's words are withheld.
      const withheld = (entry?.secretPaths.length ?? 0) > 0 && error instanceof ProcessError;
      const detail =
        error instanceof ProcessError
          ? withheld
            ? `helm failed (exit code ${String(error.exitCode ?? "none")}); its message is not shown because ${name} has secret values`
            : error.message
          : error instanceof BosunError
            ? error.message
            : `internal error (a bug in bosun): ${error instanceof Error ? error.name : "non-Error value"}`;
      throw new AddonApplyError(name, "uninstall", `add-on ${name}: helm uninstall failed: ${detail}`, {
        identity: identity({ cluster: ctx.rest.cluster, group: GROUPS.core, kind: "Secret", namespace, name: `sh.helm.release.v1.${name}.v${release.revision}` }),
        retryable: error instanceof ProcessError && error.timedOut,
        ...(withheld ? {} : { cause: error }),
      });
    }
    ctx.log?.(`${ctx.rest.cluster}: add-on ${name}: uninstalled`);
  }
  await removeInventoryEntry(ctx.rest, name);
  return { outcome: release ? "uninstalled" : "absent" };
}

/** Makes one of the step's errors: `what` failed in `phase`, because of `error` (scrubbed of `secrets`). */
type Fail = (phase: ApplyPhase, what: string, error?: unknown, secrets?: readonly string[]) => AddonApplyError;

/** Builds the step's errors: helm's words only where `failureMessage` allows them, the cause only then too. */
function failWith(addon: DesiredAddon, knownSecrets: readonly string[]): Fail {
  const withheld = addon.source.kind === "helm" && addon.source.secretValues.length > 0;
  return (phase: ApplyPhase, what: string, error?: unknown, secrets: readonly string[] = knownSecrets): AddonApplyError => {
    const detail = error === undefined ? "" : `: ${failureMessage(error, addon, secrets, "applying")}`;
    const retryable = error instanceof ProcessError ? error.timedOut : false;
    return new AddonApplyError(addon.name, phase, `add-on ${addon.name}: ${what}${detail}`, {
      retryable,
      ...(error === undefined || (withheld && error instanceof ProcessError) ? {} : { cause: error }),
    });
  };
}

/** Renders the add-on as `bosun plan` does; a failure is a `RenderFailed` error that withholds what it must. */
async function render(
  ctx: HelmApplyContext,
  addon: DesiredAddon,
  fleetDir: string,
  env: Readonly<Record<string, string | undefined>>,
  knownSecrets: readonly string[],
): Promise<RenderedHelmAddon> {
  try {
    const capabilities = await readCapabilities(ctx.rest, {});
    const rendered = await renderAddon(ctx.rest, addon, fleetDir, env, {
      ...capabilities,
      ...(ctx.helm === undefined ? {} : { helm: ctx.helm }),
      ...(ctx.repoPolicy === undefined ? {} : { repoPolicy: ctx.repoPolicy }),
      ...(ctx.charts === undefined ? {} : { charts: ctx.charts }),
    });
    if (rendered.kind !== "helm") throw new InternalError(`the Helm add-on ${addon.name} rendered as Kustomize`);
    return rendered;
  } catch (error) {
    if (error instanceof AddonRenderError || error instanceof InternalError) throw error;
    const withheld = (addon.source as HelmChartSource).secretValues.length > 0 && error instanceof ProcessError;
    throw new AddonRenderError(addon.name, failureMessage(error, addon, knownSecrets, "rendering"), withheld ? undefined : error);
  }
}

/** What the inventory records for a Helm add-on (as far as this step knows). */
type Recorded = Pick<InventoryEntry, "namespace" | "objects" | "secretPaths">;

/**
 * Writes the entry (kind helm, no objects, the secret paths) unless `recorded` already says exactly that,
 * and returns what is recorded now.
 */
async function recordInventory(
  ctx: HelmApplyContext,
  addon: DesiredAddon,
  namespace: string,
  recorded: Recorded | undefined,
  secretPaths: readonly (readonly string[])[],
  fail: Fail,
): Promise<Recorded> {
  const paths = secretPaths.map((p) => [...p]);
  const same = recorded !== undefined && recorded.namespace === namespace && recorded.objects.length === 0 && JSON.stringify(recorded.secretPaths) === JSON.stringify(paths);
  if (same) return recorded;
  try {
    await writeInventoryEntry(ctx.rest, { name: addon.name, kind: "helm", namespace, objects: [], secretPaths: paths });
  } catch (error) {
    // A stopped run (lost lock, SIGTERM) or an unreachable cluster is the run's fate, not this add-on's.
    if (error instanceof UnreachableError || ctx.rest.signal?.aborted) throw error;
    const status = httpStatus(error);
    throw fail("inventory", `cannot write the inventory${typeof status === "number" ? ` (HTTP ${status})` : ""}`);
  }
  return { namespace, objects: [], secretPaths: paths };
}

function uniquePaths(paths: readonly (readonly string[])[]): string[][] {
  return [...new Map(paths.map((p) => [JSON.stringify(p), [...p]])).values()];
}

/**
 * The latest revision's record of one release, with one LIST of its release Secrets (superseded ones left
 * out, as `listHelmReleases` does); undefined when there is none.
 */
export async function latestRelease(rest: KubeRest, name: string, namespace: string): Promise<HelmReleaseRecord | undefined> {
  return (await latestReleaseWithAge(rest, name, namespace))?.record;
}

/**
 * {@link latestRelease}, with when its revision's record was written (the release Secret's creation: helm
 * writes a new Secret per revision when the operation starts, and only updates it afterwards).
 */
async function latestReleaseWithAge(rest: KubeRest, name: string, namespace: string): Promise<{ record: HelmReleaseRecord; since: Date | undefined } | undefined> {
  const secrets = await rest.list<ReleaseSecret & { metadata?: { creationTimestamp?: string } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, {
    labelSelector: `owner=helm,name=${name},status!=superseded`,
  });
  const latest = latestReleaseSecrets(secrets)[0];
  if (!latest) return undefined;
  const created = latest.metadata?.creationTimestamp;
  return { record: decodeReleaseSecret(latest, rest.cluster), since: created === undefined ? undefined : new Date(created) };
}

/**
 * Whether the deployed release already is what the render says: same chart and version, no values diff
 * (masked as the plan masks it), and every rendered object unchanged by a server-side dry-run. An object
 * the dry-run cannot judge counts as changed (the upgrade will say what is wrong).
 */
async function unchanged(rest: KubeRest, release: HelmReleaseRecord, rendered: RenderedHelmAddon, secretPaths: readonly (readonly string[])[]): Promise<boolean> {
  if (release.error !== undefined) return false;
  if (release.chart !== rendered.chart || release.chartVersion !== rendered.chartVersion) return false;
  if (diffValues(release.config, rendered.values, secretPaths) !== null) return false;
  const changes = await Promise.all(rendered.objects.map((object: KubeObject) => compareObject(rest, object, HELM_FIELD_MANAGER).catch(rethrowUnreachable)));
  return changes.every((change) => change?.action === "unchanged");
}

function rethrowUnreachable(error: unknown): undefined {
  if (error instanceof UnreachableError) throw error;
  return undefined;
}

/** Where a failed upgrade left the release, for the error message. */
function leftState(after: HelmReleaseRecord | undefined | "unknown", before: HelmReleaseRecord | undefined): string {
  if (after === "unknown") return "the release could not be read afterwards";
  if (after === undefined) return before ? "the release is gone" : "the failed install was uninstalled";
  if (after.status === "deployed") {
    if (before?.status === "deployed" && after.revision === before.revision) return `the release was not changed (revision ${after.revision} is deployed)`;
    if (before?.status === "deployed") return `rolled back to revision ${before.revision} (as revision ${after.revision}, deployed)`;
    return `rolled back: revision ${after.revision} is deployed`;
  }
  return `the release is left ${after.status} at revision ${after.revision}`;
}
