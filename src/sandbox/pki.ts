/**
 * The sandbox's certificates and keys: one CA per sandbox, a serving certificate per API server signed by it
 * (so kubeconfigs carry the CA and never skip TLS verification), service-account signing keys, and a
 * client certificate for etcd-less components that want one. ECDSA P-256 throughout: fast to generate
 * and accepted by every Kubernetes component.
 */
import { webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
// @peculiar/x509 uses decorator metadata and needs the polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const VALIDITY_DAYS = 365;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** The sandbox CA, kept in memory while certificates are issued. */
export interface CertificateAuthority extends KeyPairPem {
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function validity(): { notBefore: Date; notAfter: Date } {
  // Back-dated an hour so a slightly skewed clock never sees a not-yet-valid certificate.
  const notBefore = new Date(Date.now() - 3_600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000) };
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "7");
}

/** Creates a self-signed CA named after the sandbox. */
export async function createCertificateAuthority(commonName: string): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: SIGNING,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, cert, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

/** What a leaf certificate is for. */
export interface LeafRequest {
  commonName: string;
  /** Organisations (Kubernetes groups for client certificates). */
  organizations?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  usage: "server" | "client" | "both";
}

/** Issues a leaf certificate signed by the CA. */
export async function issueCertificate(ca: CertificateAuthority, request: LeafRequest): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const usages: string[] = [];
  if (request.usage !== "client") usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (request.usage !== "server") usages.push(x509.ExtendedKeyUsage.clientAuth);
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const subject = [`CN=${request.commonName}`, ...(request.organizations ?? []).map((o) => `O=${o}`)].join(", ");
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING,
    ...validity(),
    extensions,
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A key pair for signing and verifying service-account tokens, PEM encoded. */
export async function createServiceAccountKeys(): Promise<{ privatePem: string; publicPem: string }> {
  const keys = await generateKeys();
  const spki = await webcrypto.subtle.exportKey("spki", keys.publicKey);
  return { privatePem: await privateKeyPem(keys.privateKey), publicPem: x509.PemConverter.encode(spki, "PUBLIC KEY") };
}

/** A random bearer token (hex, 32 bytes). */
export function randomToken(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString("hex");
}
