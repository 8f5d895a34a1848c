/**
 * `fleetBuilder()`: a small valid fleet (two clusters, a local chart, a values file, a Kustomize overlay)
 * that a test changes in one place and writes to a temp directory. Documents are held as `yaml` Documents
 * so a test edits by path (`set`, `delete`) instead of copying YAML around.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Document } from "yaml";

type Path = readonly (string | number)[];

const BASE_FLEET = {
  apiVersion: "bosun.dev/v1alpha1",
  kind: "Fleet",
  metadata: { name: "test" },
  spec: {
    defaults: {
      provider: { kubeadm: { packageManager: "apt" } },
      kubernetes: { version: "1.34.2" },
      backup: { etcd: { schedule: "0 */6 * * *", retain: 7 } },
      addons: [{ name: "metrics", namespace: "kube-system", helm: { chart: "charts/metrics", valuesFiles: ["values/metrics.yaml"] } }],
    },
    rollout: {
      waves: [
        { name: "canary", selector: { matchLabels: { tier: "canary" } } },
        { name: "prod", selector: { matchLabels: { env: "prod" } }, maxConcurrent: 1, soak: "30m" },
      ],
    },
    windows: [
      { name: "nights", kind: "allow", schedule: "0 22 * * 1-5", duration: "6h", timeZone: "Europe/Berlin", selector: { matchLabels: { env: "prod" } } },
    ],
  },
};

function cluster(name: string, labels: Record<string, string>, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "bosun.dev/v1alpha1", kind: "Cluster", metadata: { name, labels }, spec: { connection: { context: name }, ...spec } };
}

const BASE_CLUSTERS: Record<string, Record<string, unknown>> = {
  "clusters/canary.yaml": cluster("canary", { tier: "canary", env: "canary" }, {
    addons: [{ name: "monitoring", kustomize: { path: "kustomize/overlays/canary" }, dependsOn: ["metrics"] }],
  }),
  "clusters/prod.yaml": cluster("prod", { env: "prod" }, {
    topology: { controlPlane: { replicas: 3, zones: ["a", "b", "c"] }, etcd: { mode: "stacked" } },
    addons: [{ name: "web", helm: { repo: "https://charts.example.com", chart: "web", version: "1.2.3" } }],
  }),
};

const BASE_RAW: Record<string, string> = {
  "charts/metrics/Chart.yaml": "apiVersion: v2\nname: metrics\nversion: 0.1.0\n",
  "charts/metrics/values.yaml": "replicaCount: 1\n",
  "values/metrics.yaml": "replicaCount: 2\n",
  "kustomize/base/kustomization.yaml": "resources: [cm.yaml]\n",
  "kustomize/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n",
  "kustomize/overlays/canary/kustomization.yaml": "resources: [../../base]\n",
};

/** A fleet under construction. Every change returns the builder, so cases read as one expression. */
export class FleetBuilder {
  private readonly docs = new Map<string, Document[]>();
  private readonly raw = new Map<string, string>(Object.entries(BASE_RAW));
  private readonly links = new Map<string, string>();

  constructor() {
    this.docs.set("fleet.yaml", [new Document(structuredClone(BASE_FLEET))]);
    for (const [file, value] of Object.entries(BASE_CLUSTERS)) this.docs.set(file, [new Document(structuredClone(value))]);
  }

  /** Sets the value at `at` in the first (or `index`th) document of `file`, creating maps on the way. */
  set(file: string, at: Path, value: unknown, index = 0): this {
    this.doc(file, index).setIn(at, value);
    return this;
  }

  /** Removes the value at `at`. */
  delete(file: string, at: Path, index = 0): this {
    this.doc(file, index).deleteIn(at);
    return this;
  }

  /** Adds a cluster file with one Cluster document. */
  cluster(file: string, name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}): this {
    this.docs.set(file, [new Document(cluster(name, labels, spec))]);
    return this;
  }

  /** Appends a document to a file. */
  append(file: string, value: unknown): this {
    const list = this.docs.get(file) ?? [];
    list.push(new Document(value));
    this.docs.set(file, list);
    return this;
  }

  /** Writes `file` with exactly this text (replacing any document held for it). */
  text(file: string, text: string): this {
    this.docs.delete(file);
    this.raw.set(file, text);
    return this;
  }

  /** Removes a file. */
  remove(file: string): this {
    this.docs.delete(file);
    this.raw.delete(file);
    return this;
  }

  /** Creates a symlink at `link` (relative to the fleet) pointing at `target` (written as given). */
  symlink(link: string, target: string): this {
    this.links.set(link, target);
    return this;
  }

  /** The text of every file, as it will be written. */
  render(): Map<string, string> {
    const out = new Map(this.raw);
    for (const [file, docs] of this.docs) out.set(file, docs.map((d) => d.toString()).join("---\n"));
    return out;
  }

  /** Writes the fleet into a new temp directory and returns its path. */
  async write(): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-fleet-"));
    for (const [file, text] of this.render()) {
      await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), text);
    }
    for (const [link, target] of this.links) {
      await fs.mkdir(path.dirname(path.join(dir, link)), { recursive: true });
      await fs.symlink(target, path.join(dir, link));
    }
    return dir;
  }

  private doc(file: string, index: number): Document {
    const doc = this.docs.get(file)?.[index];
    if (!doc) throw new Error(`builder has no document ${index} in ${file}`);
    return doc;
  }
}

/** A builder holding the valid base fleet. */
export function fleetBuilder(): FleetBuilder {
  return new FleetBuilder();
}

/** 1-based line of the `nth` (default first) line containing `needle`; throws when there is none. */
export function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`"${needle}" not found in:\n${text}`);
}
