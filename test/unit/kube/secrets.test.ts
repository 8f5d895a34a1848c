/** What a connection sends as credentials, to be scrubbed from the API server's answers. */
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { connectionSecrets } from "../../../src/kube/secrets.js";

const user = (fields: Partial<k8s.User>): k8s.User => ({ name: "u", ...fields });

describe("connectionSecrets", () => {
  it("takes the bearer token from the header as sent (an exec plugin's too)", () => {
    const secrets = connectionSecrets(user({}), { headers: { Authorization: "Bearer plugin-token-0123" } });
    expect(secrets).toEqual(expect.arrayContaining(["Bearer plugin-token-0123", "plugin-token-0123"]));
  });

  it("decodes a basic-auth header into the pair and the password", () => {
    const header = `Basic ${Buffer.from("admin:hunter2-long-pass").toString("base64")}`;
    const secrets = connectionSecrets(null, { headers: { authorization: header } });
    expect(secrets).toEqual(expect.arrayContaining([header, "admin:hunter2-long-pass", "hunter2-long-pass"]));
  });

  it("takes the kubeconfig user's token, password and client key", () => {
    const pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    const keyData = Buffer.from(pem).toString("base64");
    const secrets = connectionSecrets(user({ token: "file-token-abcdef", username: "admin", password: "pw-0123456", keyData }), { key: Buffer.from(pem) });
    expect(secrets).toEqual(
      expect.arrayContaining(["file-token-abcdef", "pw-0123456", "admin:pw-0123456", keyData, pem, "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"]),
    );
    expect(secrets).not.toContain("-----BEGIN PRIVATE KEY-----");
  });

  it("is empty for a connection without credentials", () => {
    expect(connectionSecrets(user({}), { headers: { Accept: "application/json" } })).toEqual([]);
  });
});
