// @ts-check
import { builtinModules } from "node:module";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// ---- Boundaries (ARCHITECTURE.md, "Lint-enforced boundaries") -------------------------------------------
// Each rule below turns an architectural promise into a lint error, so it cannot erode one import at a time.
// test/unit/lint-boundaries.test.ts lints offending snippets with this config and fails if a rule stops
// firing.

/** Node's built-in modules, with and without the `node:` prefix: all of them do (or schedule) I/O. */
const NODE_BUILTINS = [...builtinModules.filter((name) => !name.startsWith("_")), "node:*"];

/**
 * `src/plan/` and `src/diff/` are pure (ARCHITECTURE invariant 1): the planner and the diff take what the
 * observers read and return data, so the same inputs give a byte-identical plan. They may import the spec's
 * and the plan's types and pure helpers, and pure libraries (semver, diff, yaml); never a module that does
 * I/O. Types of `src/kube` (KubeObject) are allowed: a type import compiles to nothing.
 */
const PURE_IMPORTS = {
  paths: [
    { name: "@kubernetes/client-node", message: "src/plan and src/diff are pure: no Kubernetes client." },
    { name: "execa", message: "src/plan and src/diff are pure: no processes." },
    { name: "isomorphic-git", message: "src/plan and src/diff are pure: no Git." },
  ],
  patterns: [
    { group: NODE_BUILTINS, message: "src/plan and src/diff are pure: no Node built-ins (file system, network, processes, clocks)." },
    { group: ["**/kube/*", "**/kube"], allowTypeImports: true, message: "src/plan and src/diff are pure: only types from src/kube." },
    {
      group: ["**/tools/*", "**/addons/*", "**/source/*", "**/observe/*", "**/apply/*", "**/drivers/*", "**/backup/*", "**/sandbox/*", "**/cli/*", "**/daemon/*"],
      message: "src/plan and src/diff are pure: this module does I/O (or imports what does).",
    },
    {
      group: ["**/lock.js", "**/paths.js", "**/process-identity.js", "**/spec/tree.js", "**/spec/load.js"],
      message: "src/plan and src/diff are pure: this module reads the file system or the process table.",
    },
  ],
};

/** The clock, randomness, the process and timers: none of them belongs in a pure module. */
const PURE_GLOBALS = ["process", "setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "queueMicrotask", "fetch", "performance"].map(
  (name) => ({ name, message: "src/plan and src/diff are pure: no process, timers or clocks; take what you need as a parameter." }),
);
const PURE_PROPERTIES = [
  { object: "Date", property: "now", message: "src/plan and src/diff read no clock: take `now` as a parameter." },
  { object: "Math", property: "random", message: "src/plan and src/diff are deterministic: no randomness." },
  { object: "performance", property: "now", message: "src/plan and src/diff read no clock." },
  ...["setTimeout", "setInterval", "setImmediate", "process", "fetch"].map((property) => ({
    object: "globalThis",
    property,
    message: "src/plan and src/diff are pure: no process, timers or network.",
  })),
];
const PURE_SYNTAX = [
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "src/plan and src/diff read no clock: `new Date()` without arguments is now; take `now` as a parameter." },
  { selector: "CallExpression[callee.name='Date']", message: "src/plan and src/diff read no clock: `Date()` is now as text." },
];

/**
 * `@kubernetes/client-node` is used only by `src/kube/` (the one road to the API) and `src/sandbox/`. Its
 * types may still appear elsewhere (the generated clients' objects handed in from src/kube); a value import
 * (a client, a class, a helper) may not.
 */
const CLIENT_NODE_ONLY_IN_KUBE = {
  paths: [{ name: "@kubernetes/client-node", allowTypeImports: true, message: "Talk to the API through src/kube (KubeRest); only src/kube and src/sandbox use @kubernetes/client-node." }],
};
/**
 * TEMPORARY, keep short: files outside src/kube that still import a value from `@kubernetes/client-node`
 * while their calls move to KubeRest. Remove each entry with the move.
 * - src/apply/lease.ts: `V1MicroTime` for the Lease's times (the lock still writes through the generated
 *   coordination client).
 */
const CLIENT_NODE_ALLOWED_FOR_NOW = ["src/apply/lease.ts"];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".bosun/", "coverage/", "fleet-example/", "sandbox/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // @kubernetes/client-node declares its API models as classes but reads and writes them as plain JSON
      // objects; object literals are the intended way to build them.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      "@typescript-eslint/no-misused-spread": ["error", { allow: [{ from: "package", package: "@kubernetes/client-node", name: ["V1Pod", "V1Node", "V1Job", "V1ObjectMeta", "V1NodeStatus", "V1PodStatus", "V1ConfigMap"] }] }],
      "no-restricted-imports": ["error", { paths: [
        { name: "child_process", message: "Run external programs through their wrapper in src/tools/." },
        { name: "node:child_process", message: "Run external programs through their wrapper in src/tools/." },
      ] }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/kube/**", "src/sandbox/**", ...CLIENT_NODE_ALLOWED_FOR_NOW],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", CLIENT_NODE_ONLY_IN_KUBE] },
  },
  {
    // After the client-node rule: for these files this list replaces it (and forbids client-node types too).
    files: ["src/plan/**/*.ts", "src/diff/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": ["error", PURE_IMPORTS],
      "no-restricted-globals": ["error", ...PURE_GLOBALS],
      "no-restricted-properties": ["error", ...PURE_PROPERTIES],
      "no-restricted-syntax": ["error", ...PURE_SYNTAX],
    },
  },
  {
    // The process wrappers (and the test servers that stand in for remote hosts, and the generators of
    // committed data that run `go` at development time) start programs directly.
    files: ["src/tools/**/*.ts", "test/support/**/*.ts", "scripts/gen-*.mjs"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Scripts in plain JavaScript run on Node; name its globals so `no-undef` knows them.
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", fetch: "readonly", AbortSignal: "readonly" },
    },
  },
);
