// Model economics: prices (plugin table, then the gateway's model table, then the host's own
// per-run figure), what a ladder saved against its strongest rung, and budget admission.
export { type Price, type Prices, addUsage, attemptCost, baseModelId, costOf, count, fmtUsd, priceOf, priceUsage, roundUsd, totalTokens } from "./prices.js";
export { agentDefaultModel, hostPrices, priceTable } from "./host-prices.js";
export { type BatchUsage, baselineModelOf, batchUsage, billedModel, savingsPhrase, usageSummary } from "./savings.js";
export { type Admission, type BudgetLimit, type Calibration, type Spend, admit, admitNext, calibrate, estimateAttempt } from "./budget.js";
export { costCapRefusal, modelsToRun, unpricedModels, unpricedRefusal } from "./cost-cap.js";
