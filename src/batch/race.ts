// Waiting on whichever comes first: one of the given promises, a deadline, or an abort.

/** Resolves with the first promise, or undefined when `until` (epoch ms) passes or `signal` aborts. No timer outlives it. */
export async function raceUntil<T>(promises: Promise<T>[], until: number, signal?: AbortSignal): Promise<T | undefined> {
  if (signal?.aborted) return undefined; // "abort" fired already and will not fire again
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, until - Date.now()), undefined);
    onAbort = () => resolve(undefined);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([...promises, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
