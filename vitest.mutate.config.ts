import { defineConfig } from "vitest/config";

// Stryker's vitest runner takes a config file, not a project name: this one is the "unit" project
// alone, so a mutation run can never start the real-gateway e2e suite. Left out: the fuzz specs
// (random and time-bounded: their verdict on a mutant would depend on the seed and the load) and,
// unless MUTATE_CRASH=1, the crash-injection grid (85 child processes per mutant: hours on 2 cores).
const skip = ["tests/unit/fuzz.test.ts", ...(process.env.MUTATE_CRASH === "1" ? [] : ["tests/unit/crash-injection.test.ts"])];

export default defineConfig({
  test: { include: ["tests/unit/**/*.test.ts"], exclude: skip, testTimeout: 20_000 },
});
