// Learned provider caps outlive a gateway restart: a provider that answered 429 above 2 open
// requests before the restart does so after it, and learning the cap again costs a burst of 429s.
// They are kept in the store's meta table. A cap unchanged for a day is forgotten (a plan upgrade, a
// provider that got quieter), and additive increase still raises a remembered cap that holds runs
// back for nothing.

/** A provider's learned cap and when it last moved. */
export interface RememberedCap {
  cap: number;
  at: number;
}

export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export const REMEMBER_FOR_MS = 24 * 60 * 60_000;
const KEY = "learned_provider_caps";

/** The caps learned within the last day; anything unreadable is forgotten, never an error. */
export function recallCaps(store: MetaStore, now = Date.now()): Record<string, RememberedCap> {
  let saved: unknown;
  try {
    saved = JSON.parse(store.getMeta(KEY) ?? "{}");
  } catch {
    return {};
  }
  const caps: Record<string, RememberedCap> = {};
  for (const [provider, value] of Object.entries(saved && typeof saved === "object" ? saved : {})) {
    const { cap, at } = (value ?? {}) as Partial<RememberedCap>;
    if (Number.isInteger(cap) && cap! >= 1 && typeof at === "number" && now - at < REMEMBER_FOR_MS) caps[provider] = { cap: cap!, at };
  }
  return caps;
}

export function rememberCaps(store: MetaStore, caps: Record<string, RememberedCap>): void {
  store.setMeta(KEY, JSON.stringify(caps));
}
