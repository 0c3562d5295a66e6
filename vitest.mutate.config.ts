import { defineConfig } from "vitest/config";

// Stryker's vitest runner takes a config file, not a project name: this one is the "unit" project
// alone, so a mutation run can never start the real-gateway e2e suite. Minus the fuzz specs: random
// and time-bounded, their verdict on a mutant would depend on the seed and the machine's load.
export default defineConfig({
  test: { include: ["tests/unit/**/*.test.ts"], exclude: ["tests/unit/fuzz.test.ts"], testTimeout: 20_000 },
});
