// What a batch's scheduler needs from the gateway-wide slots (ProviderSlots implements it).
import type { AttemptOutcome } from "../batch/types.js";
import type { SlotOutcome, SlotParty } from "./provider-slots.js";

export interface SlotGate {
  beginAdmit(party: SlotParty): void;
  take(party: SlotParty, model: string | undefined, id: string, wake: () => void): boolean;
  release(id: string, outcome: SlotOutcome): void;
}

/** An attempt's outcome as the provider's cap sees it (undefined: it never reached the provider). */
export function slotOutcome(outcome: AttemptOutcome | undefined): SlotOutcome {
  return outcome === "rate_limit" ? "rate_limit" : outcome === "ok" ? "ok" : "other";
}
