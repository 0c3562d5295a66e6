// Live batches of this gateway process, backed by the ledger. A batch not in memory (after a
// restart) is rebuilt from the ledger; attempts another process started are then interrupted.
import type { ChildRuntime } from "../runtime/port.js";
import { BatchRunner } from "./batch-runner.js";
import { assertBatchId, type Ledger } from "./ledger.js";
import type { BatchRecord } from "./types.js";
import { ToolInputError } from "../errors.js";

export class BatchStore {
  private readonly runners = new Map<string, BatchRunner>();
  private current: ChildRuntime;
  /** Runners call the host through this, so a re-registered plugin's runtime takes over live batches. */
  private readonly runtime: ChildRuntime = {
    start: (req) => this.current.start(req),
    wait: (runId, timeoutMs) => this.current.wait(runId, timeoutMs),
    read: (sessionKey) => this.current.read(sessionKey),
    stop: (sessionKey) => this.current.stop(sessionKey),
  };

  constructor(
    private readonly ledger: Ledger,
    private readonly owner: string,
    runtime: ChildRuntime,
  ) {
    this.current = runtime;
  }

  /**
   * The store outlives a plugin instance (`openclaw plugins reload`, a re-install): the host retires
   * the old instance's runtime ("runtime is no longer active"), so the newest instance's is used.
   */
  useRuntime(runtime: ChildRuntime): void {
    this.current = runtime;
  }

  create(batch: BatchRecord): BatchRunner {
    this.ledger.create(batch);
    const runner = new BatchRunner(batch, { runtime: this.runtime, ledger: this.ledger, owner: this.owner });
    this.runners.set(batch.batchId, runner);
    return runner;
  }

  /** The runner of `batchId`, from memory or rebuilt from the ledger; throws a clear error when unknown. */
  async get(batchId: unknown): Promise<BatchRunner> {
    assertBatchId(batchId);
    const live = this.runners.get(batchId);
    if (live) return live;
    const batch = this.ledger.load(batchId);
    if (!batch) throw new ToolInputError(`unknown batchId "${batchId}": no such batch in this gateway's ledger (it may have expired)`);
    const runner = new BatchRunner(batch, { runtime: this.runtime, ledger: this.ledger, owner: this.owner });
    this.runners.set(batchId, runner);
    await runner.recoverInterrupted();
    return runner;
  }
}
