import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { parse, parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { KWOK_STAGES } from "../../../src/sandbox/kwok-stages.js";
import { renderKubeconfig, renderTokenFile } from "../../../src/sandbox/kubeconfig.js";
import { createCertificateAuthority, createServiceAccountKeys, issueCertificate, randomToken } from "../../../src/sandbox/pki.js";

describe("sandbox PKI", () => {
  it("issues a serving certificate the CA verifies, for 127.0.0.1 and the in-cluster names", async () => {
    const ca = await createCertificateAuthority("bosun-sandbox-test");
    const leaf = await issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", dnsNames: ["kubernetes.default"], ipAddresses: ["127.0.0.1"] });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("kubernetes.default")).toBe("kubernetes.default");
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
  });

  it("creates a service-account key pair that signs and verifies", async () => {
    const keys = await createServiceAccountKeys();
    const signature = sign("sha256", Buffer.from("token"), createPrivateKey(keys.privatePem));
    expect(verify("sha256", Buffer.from("token"), createPublicKey(keys.publicPem), signature)).toBe(true);
  });

  it("makes distinct 256-bit tokens", () => {
    const a = randomToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(randomToken()).not.toBe(a);
  });
});

describe("sandbox kubeconfig", () => {
  it("has one context per cluster named after it, with the CA and no TLS skipping", () => {
    const text = renderKubeconfig("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n", [
      { cluster: "a", server: "https://127.0.0.1:1", token: "t1" },
      { cluster: "b", server: "https://127.0.0.1:2", token: "t2" },
    ]);
    const config = parse(text) as { contexts: { name: string; context: { cluster: string; user: string } }[]; clusters: { cluster: Record<string, string> }[]; "current-context": string };
    expect(config.contexts.map((c) => c.name)).toEqual(["a", "b"]);
    expect(config["current-context"]).toBe("a");
    expect(config.clusters.every((c) => c.cluster["certificate-authority-data"] && !("insecure-skip-tls-verify" in c.cluster))).toBe(true);
    expect(renderTokenFile("abc")).toBe('abc,bosun-sandbox-admin,bosun-sandbox-admin,"system:masters"\n');
  });

  it("writes kwok stages as valid YAML documents, leaving upgrade pods to the node agent", () => {
    const docs = parseAllDocuments(KWOK_STAGES).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { resourceRef: { kind: string }; selector: { matchExpressions: { key: string }[] } } });
    expect(docs.map((d) => d.kind)).toEqual(["Stage", "Stage", "Stage", "Stage", "Stage"]);
    const podStages = docs.filter((d) => d.spec.resourceRef.kind === "Pod" && d.metadata.name !== "bosun-pod-delete");
    expect(podStages).toHaveLength(2);
    for (const stage of podStages) {
      expect(stage.spec.selector.matchExpressions.map((e) => e.key)).toContain('.metadata.labels["bosun.dev/node-upgrade"]');
    }
  });
});
