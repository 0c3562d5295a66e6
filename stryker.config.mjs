// Mutation testing (`npm run mutate`, not part of `npm test`): proves the unit specs guard what the
// README promises about the engine, the store and the retry/judge policy, not just that they run.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  mutate: ["src/engine/**/*.ts", "src/store/**/*.ts", "src/batch/policy.ts", "src/batch/judge.ts", "src/pricing/**/*.ts", "src/ladder-learning/**/*.ts", "src/stats/**/*.ts", "src/scheduling/**/*.ts"],
  // The sandbox needs sources, tests and the manifests they read; not the 900 MB runtime cache.
  ignorePatterns: [".cache", "dist", "bench", "demo", "coverage", "tests/e2e", "*.tgz"],
  concurrency: 2, // 2 shared cores
  // The engine specs run on real timers: a loaded machine must not turn slow runs into "timeouts".
  timeoutFactor: 3,
  timeoutMS: 15_000,
  dryRunTimeoutMinutes: 10,
  reporters: ["clear-text", "json", "progress"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false },
  // Informative only (break: null): the score is reported, never fails the command.
  thresholds: { high: 80, low: 60, break: null },
};
