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

/** A host call that did not answer in time. */
export class HostDeadlineError extends Error {}

/** `promise`, or a HostDeadlineError once `ms` pass: every host call the engine makes has a deadline. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HostDeadlineError(`the host did not answer ${what} within ${Math.round(ms / 1000)}s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
