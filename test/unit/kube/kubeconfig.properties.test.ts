/**
 * Property tests of the connection code: whatever a kubeconfig holds — random YAML shapes, missing fields,
 * wrong types, `__proto__` keys, control characters, long strings — loading it for a cluster's
 * `connection` returns a usable KubeConfig or throws a BosunError. Never another error (which the CLI
 * would report as a bug), never a credential in the message, and a returned config always selects a
 * cluster whose server is an http(s) URL, so the HTTP clients built from it cannot fail on it.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import { BosunError } from "../../../src/errors.js";
import { clientsFor, loadKubeConfig } from "../../../src/kube/config.js";
import { contextOf, defaultKubeConfig, kubeConfigFor, kubeconfigPolicy } from "../../../src/kube/connect.js";

// No directory is untrusted here (the files live in a temp dir) and plugins are refused, as in a PR plan.
const POLICY = kubeconfigPolicy([], false);
import type { Connection } from "../../../src/spec/types.js";

/** Put into every generated credential field; no error message may ever contain it. */
const SECRET = "kc-canary-5e1f0c";

let dir = "";
let counter = 0;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kubeconfig-fuzz-"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function writeKubeconfig(text: string): Promise<string> {
  counter += 1;
  const file = path.join(dir, `kubeconfig-${counter}`);
  await fs.writeFile(file, text);
  return file;
}

// ---- generators ---------------------------------------------------------------------------------------

const nasty = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "\u001b]0;x\u0007", "\u009b2J", "a\nb", "", " ", "-", "~", "~/x");
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: nasty },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  // Long, but within any file-size limit.
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => "x".repeat(n)) },
);
const server = fc.oneof(
  fc.constantFrom("https://127.0.0.1:1", "http://127.0.0.1:1", "https://[::1]:6443/path", "not a url", "ftp://host", "https://", "//host", "https://u:p@host", "file:///etc/passwd", "javascript:alert(1)"),
  text,
  fc.webUrl(),
);
// Any YAML value, a few levels deep, with hostile keys.
const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    text,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(text, nasty), tie("value"), { maxKeys: 4 }),
  ),
})).value;
const orJunk = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
const names = fc.constantFrom("one", "two", "__proto__", "constructor", "");

const clusterEntry = fc.record(
  {
    name: orJunk(names),
    cluster: orJunk(
      fc.record(
        {
          server: orJunk(server),
          "certificate-authority-data": orJunk(fc.constantFrom(SECRET, "bm90IGEgY2VydA==", "")),
          "insecure-skip-tls-verify": orJunk(fc.boolean()),
          "tls-server-name": orJunk(text),
          "proxy-url": orJunk(server),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const userEntry = fc.record(
  {
    name: orJunk(names),
    user: orJunk(
      fc.record(
        {
          token: orJunk(fc.constant(SECRET)),
          username: orJunk(text),
          password: orJunk(fc.constant(SECRET)),
          "client-key-data": orJunk(fc.constant(SECRET)),
          "client-certificate-data": orJunk(fc.constant(SECRET)),
          // Never run: loading a kubeconfig runs no plugin; these only have to be read without a crash.
          exec: orJunk(fc.record({ command: fc.constant("/nonexistent/plugin"), apiVersion: orJunk(text), args: orJunk(fc.array(fc.constant(SECRET))) }, { requiredKeys: [] })),
          "auth-provider": orJunk(fc.record({ name: orJunk(text), config: orJunk(fc.dictionary(text, fc.constant(SECRET))) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const contextEntry = fc.record(
  { name: orJunk(names), context: orJunk(fc.record({ cluster: orJunk(names), user: orJunk(names), namespace: orJunk(text) }, { requiredKeys: [] })) },
  { requiredKeys: [] },
);
const kubeconfigShape = fc.record(
  {
    apiVersion: orJunk(fc.constant("v1")),
    kind: orJunk(fc.constant("Config")),
    clusters: orJunk(fc.array(orJunk(clusterEntry), { maxLength: 3 })),
    users: orJunk(fc.array(orJunk(userEntry), { maxLength: 3 })),
    contexts: orJunk(fc.array(orJunk(contextEntry), { maxLength: 3 })),
    "current-context": orJunk(names),
    preferences: orJunk(anyValue),
  },
  { requiredKeys: [] },
);
/**
 * A kubeconfig whose names agree (context "one" → cluster "one" → user "u"), so loading gets as far as
 * the server and the credentials — with a random server and random values in place of some fields.
 */
const coherentKubeconfig = fc
  .record({
    server,
    token: fc.constant(SECRET),
    currentContext: fc.constantFrom("one", "one", "two", undefined),
    clusterName: fc.constantFrom("one", "one", "__proto__"),
    junk: fc.option(fc.tuple(fc.constantFrom("cluster", "user", "context", "clusters", "contexts"), anyValue), { nil: undefined }),
  })
  .map(({ server: s, token, currentContext, clusterName, junk }) => {
    const [where, value] = junk ?? [undefined, undefined];
    const pick = (field: string, good: unknown): unknown => (where === field ? value : good);
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: pick("clusters", [{ name: clusterName, cluster: pick("cluster", { server: s }) }]),
      users: [{ name: "u", user: pick("user", { token }) }],
      contexts: pick("contexts", [{ name: "one", context: pick("context", { cluster: "one", user: "u" }) }]),
      ...(currentContext === undefined ? {} : { "current-context": currentContext }),
    });
  });

/** Kubeconfig file contents: a coherent or a random structured kubeconfig, any YAML value, or raw text. */
const kubeconfigText = fc.oneof(
  { weight: 4, arbitrary: coherentKubeconfig },
  { weight: 4, arbitrary: kubeconfigShape.map((k) => stringify(k)) },
  { weight: 1, arbitrary: anyValue.map((v) => stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  // A hand-written `__proto__` key at the top and inside a cluster: YAML parsers differ in what they do with it.
  {
    weight: 1,
    arbitrary: fc
      .tuple(server, names)
      .map(([s, n]) => `__proto__: { polluted: true }\nclusters:\n  - name: ${JSON.stringify(n)}\n    __proto__: { server: x }\n    cluster: { server: ${JSON.stringify(s)} }\ncontexts:\n  - name: one\n    context: { cluster: ${JSON.stringify(n)}, user: u }\nusers:\n  - name: u\n    user: { token: ${SECRET} }\ncurrent-context: one\n`),
  },
);
const contextName = fc.option(fc.oneof({ weight: 3, arbitrary: fc.constant("one") }, { weight: 1, arbitrary: names }, { weight: 1, arbitrary: text }), { nil: null });
const envName = fc.oneof(fc.constantFrom("constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "KUBECONFIG_X", ""), text);

// ---- properties -----------------------------------------------------------------------------------------

/** How many generated kubeconfigs were loaded and refused: each property must see both, or it tests little. */
const outcomes = { loaded: 0, refused: 0 };

/** Runs `load`; a returned config must be usable, a thrown error must be a BosunError without secrets. */
function expectTypedOutcome(load: () => k8s.KubeConfig, options: { usable: boolean }): void {
  let kc: k8s.KubeConfig;
  try {
    kc = load();
  } catch (error) {
    expect(error, String((error as Error).stack)).toBeInstanceOf(BosunError);
    expect((error as Error).message).not.toContain(SECRET);
    outcomes.refused += 1;
    return;
  }
  outcomes.loaded += 1;
  if (!options.usable) return;
  const server = kc.getCurrentCluster()?.server;
  expect(typeof server).toBe("string");
  expect(["https:", "http:"]).toContain(new URL(server as string).protocol);
  // The generated API clients are built from the same config (apply does): they must not throw either.
  expect(() => clientsFor(kc)).not.toThrow();
}

const RUNS = { numRuns: 150 };
/** A kubeconfig every loader accepts: one context `one` on a loopback server. */
const GOOD_KUBECONFIG = stringify({
  apiVersion: "v1",
  kind: "Config",
  clusters: [{ name: "one", cluster: { server: "https://127.0.0.1:6443" } }],
  users: [{ name: "u", user: { token: "t" } }],
  contexts: [{ name: "one", context: { cluster: "one", user: "u" } }],
  "current-context": "one",
});

describe("property: a hostile kubeconfig gives a typed error, never a bug", () => {
  beforeEach(() => {
    outcomes.loaded = 0;
    outcomes.refused = 0;
  });
  afterEach((context) => {
    if (context.task.name.startsWith("loads a good")) return;
    expect(outcomes.loaded, "no generated kubeconfig was loaded").toBeGreaterThan(0);
    expect(outcomes.refused, "no generated kubeconfig was refused").toBeGreaterThan(0);
  });

  it("kubeconfig: { path, context } connections", async () => {
    await fc.assert(
      fc.asyncProperty(kubeconfigText, contextName, async (textOf, context) => {
        const file = await writeKubeconfig(textOf);
        const connection: Connection = { kind: "kubeconfig-file", path: file, context };
        expectTypedOutcome(() => kubeConfigFor("c", connection, {}, () => defaultKubeConfig({}), POLICY), { usable: true });
      }),
      RUNS,
    );
  });

  it("kubeconfig: { env } connections, whatever the variable is called", async () => {
    await fc.assert(
      fc.asyncProperty(kubeconfigText, envName, contextName, fc.boolean(), async (textOf, name, context, set) => {
        const file = await writeKubeconfig(textOf);
        const env: NodeJS.ProcessEnv = set ? { [name]: file } : {};
        const connection: Connection = { kind: "kubeconfig-env", env: name, context };
        expectTypedOutcome(() => kubeConfigFor("c", connection, env, () => defaultKubeConfig({}), POLICY), { usable: true });
      }),
      // One usable case always runs: random names rarely give one, and the afterEach check needs a load.
      { ...RUNS, examples: [[GOOD_KUBECONFIG, "KUBECONFIG_X", "one", true]] },
    );
  });

  it("context connections and management contexts, $KUBECONFIG a list of hostile files", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(kubeconfigText, { minLength: 1, maxLength: 3 }), fc.oneof(fc.constant("one"), names, text), async (texts, context) => {
        const files = await Promise.all(texts.map(writeKubeconfig));
        const env = { KUBECONFIG: files.join(path.delimiter) };
        const connection: Connection = { kind: "context", context };
        expectTypedOutcome(() => kubeConfigFor("c", connection, env, () => defaultKubeConfig(env), POLICY), { usable: true });
        expectTypedOutcome(() => contextOf("c", defaultKubeConfig(env), context), { usable: true });
      }),
      // One usable case always runs: a random list loads only now and then, and the afterEach check needs a load.
      { ...RUNS, examples: [[[GOOD_KUBECONFIG], "one"]] },
    );
  });

  it("loadKubeConfig (sandbox and tools) with any context", async () => {
    await fc.assert(
      fc.asyncProperty(kubeconfigText, fc.option(fc.oneof(names, text), { nil: undefined }), async (textOf, context) => {
        const file = await writeKubeconfig(textOf);
        expectTypedOutcome(() => loadKubeConfig(file, context), { usable: false });
      }),
      RUNS,
    );
  });

  it("loads a good kubeconfig", async () => {
    const file = await writeKubeconfig(
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "one", cluster: { server: "https://127.0.0.1:1" } }],
        users: [{ name: "u", user: { token: SECRET } }],
        contexts: [{ name: "one", context: { cluster: "one", user: "u" } }],
        "current-context": "one",
      }),
    );
    const kc = kubeConfigFor("c", { kind: "kubeconfig-file", path: file, context: null }, {}, () => defaultKubeConfig({}), POLICY);
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:1");
  });
});
