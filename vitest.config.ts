import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The shared sandbox's teardown stops every process before vitest exits.
    teardownTimeout: 120_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // A few unit tests run the built CLI (a Node process that loads the Kubernetes client); on a
          // loaded 2-core machine that alone can take several seconds.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/security/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/support/global-setup.ts"],
          // test/security/ is the hostile-repository suite: through the built CLI against the same sandbox.
          // Integration tests share one sandbox; files run one at a time so two suites never race
          // for the same cluster and the 2-core machine is not oversubscribed.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
