// Group commit: the changes a batch makes in one turn of the event loop are stored in one
// transaction (a transaction's BEGIN and COMMIT cost more than its writes; bench/ engine-scale).
// A change is applied in memory at once and stored at the end of the turn at the latest; whoever
// acts on it outside the process (a host call, an answer, a notice) first waits for `stored()` or
// calls `flush()`. Each write is one transaction, so a crash leaves the state before the group or
// after it, and nothing outside the process ever saw a change that was not stored.

export class GroupCommit {
  private readonly runs = new Set<number>();
  private header = false;
  private timer: NodeJS.Immediate | undefined;
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  /**
   * @param write stores the given runs (and the header, when asked) in one transaction; throws when it could not.
   * @param failed hears of a write that failed; what it covered stays pending for the next flush.
   */
  constructor(
    private readonly write: (runs: number[], header: boolean) => void,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Run `i` changed (and the header, when `header`): stored at the end of this turn at the latest. */
  add(i: number | undefined, header = false): void {
    if (i !== undefined) this.runs.add(i);
    this.header ||= header;
    this.timer ??= setImmediate(() => this.flushQuietly());
  }

  get pending(): boolean {
    return this.runs.size > 0 || this.header;
  }

  /** Resolves once everything added so far is stored; rejects when that write failed. */
  stored(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    this.timer ??= setImmediate(() => this.flushQuietly()); // also after a failed write: try again
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Stores everything added so far now, in one transaction; throws (all of it still pending) when the write fails. */
  flush(): void {
    clearImmediate(this.timer);
    this.timer = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      if (this.pending) this.write([...this.runs].sort((a, b) => a - b), this.header);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      this.failed(err);
      throw err;
    }
    this.runs.clear();
    this.header = false;
    for (const w of waiters) w.resolve();
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // `failed` has heard of it
    }
  }
}
