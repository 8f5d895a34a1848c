// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    // The process wrappers (and the test servers that stand in for remote hosts) start programs directly.
    files: ["src/tools/**/*.ts", "test/support/**/*.ts"],
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
      globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly" },
    },
  },
);
