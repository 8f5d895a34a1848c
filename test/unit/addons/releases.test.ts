/**
 * Decoding Helm's release records. `fixtures/helm-release-secret.json` is a real record, written by Helm
 * 4.3.1 (`helm upgrade --install sample test/fixtures/fleets/addons/addons/charts/web` with non-secret
 * values) and reduced to the Secret's type, name, namespace, labels and `data.release`.
 */
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeReleasePayload, decodeReleaseSecret, latestReleaseSecrets, type ReleaseSecret } from "../../../src/addons/releases.js";

const sample = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "fixtures/helm-release-secret.json"), "utf8")) as ReleaseSecret;

/** A release Secret as the API serves it, around `release` (Helm's JSON). */
function secret(name: string, namespace: string, revision: number, release: unknown, encode = true): ReleaseSecret {
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(release))).toString("base64");
  return {
    type: "helm.sh/release.v1",
    metadata: { name: `sh.helm.release.v1.${name}.v${revision}`, namespace, labels: { name, owner: "helm", status: "deployed", version: String(revision) } },
    data: { release: encode ? Buffer.from(helmEncoded).toString("base64") : "" },
  };
}

describe("decodeReleaseSecret", () => {
  it("reads a real Helm 4 record: name, namespace, revision, status, chart and user-supplied values only", () => {
    const record = decodeReleaseSecret(sample, "alpha");
    expect(record).toEqual({
      name: "sample",
      namespace: "sample",
      revision: 1,
      status: "deployed",
      chart: "web",
      chartVersion: "0.3.1",
      config: { replicaCount: 2, message: "sample release", auth: { token: "not-a-secret-sample-token" } },
      objects: record.objects,
    });
    // Of the manifest only identities and API versions are kept.
    expect(record.objects.length).toBeGreaterThan(0);
    for (const object of record.objects) expect(Object.keys(object).sort()).toEqual(["apiVersion", "kind", "name", "namespace"]);
  });

  it("reads the fields bosun needs from a synthetic record and ignores the rest", () => {
    const record = decodeReleaseSecret(
      secret("web", "ns", 7, { name: "web", namespace: "ns", version: 7, info: { status: "failed" }, chart: { metadata: { name: "c", version: "1.2.3" } }, config: null, manifest: "secret stuff" }),
      "alpha",
    );
    // "secret stuff" is a manifest of no object: nothing of it is kept.
    expect(record).toEqual({ name: "web", namespace: "ns", revision: 7, status: "failed", chart: "c", chartVersion: "1.2.3", config: {}, objects: [] });
  });

  it("reports an unreadable record by name, without its content", () => {
    const broken: ReleaseSecret = { ...secret("web", "ns", 3, {}), data: { release: Buffer.from("H4sIbroken-payload-with-s3cr3t").toString("base64") } };
    const record = decodeReleaseSecret(broken, "alpha");
    expect(record.error).toBe("alpha:Secret/ns/sh.helm.release.v1.web.v3: the Helm release record is not base64(gzip(JSON)) as Helm writes it");
    expect(record).toMatchObject({ name: "web", namespace: "ns", revision: 3, status: "deployed", chart: "", config: {} });
    expect(JSON.stringify(record)).not.toContain("s3cr3t");
  });

  it("reads a record Helm stored without gzip", () => {
    expect(decodeReleasePayload(Buffer.from('{"name":"plain"}').toString("base64"))).toBe('{"name":"plain"}');
  });
});

describe("latestReleaseSecrets", () => {
  it("keeps the highest revision per release name and namespace, ignoring other Secrets", () => {
    const all = [
      secret("web", "a", 1, {}),
      secret("web", "a", 10, {}),
      secret("web", "a", 9, {}),
      secret("web", "b", 2, {}),
      secret("db", "a", 1, {}),
      { ...secret("web", "a", 11, {}), type: "Opaque" },
      { ...secret("nolabel", "a", 1, {}), metadata: { name: "x", namespace: "a", labels: { owner: "helm" } } },
    ];
    expect(latestReleaseSecrets(all).map((s) => s.metadata?.name)).toEqual([
      "sh.helm.release.v1.web.v10",
      "sh.helm.release.v1.web.v2",
      "sh.helm.release.v1.db.v1",
    ]);
  });
});
