// Durable batch state in one SQLite database (node:sqlite, WAL). Every group of changes the engine
// makes (engine/group-commit) is one transaction, committed before anyone is told about it: a crash leaves the old state or the
// new one, never a torn record. The engine is the only writer; the CLI opens it read-only.
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Attempt, BatchRecord, RunRecord } from "../batch/types.js";
import { markLedgerImported, readJsonlLedger } from "./jsonl-import.js";
import { MIGRATIONS } from "./schema.js";
import { type Database, type Statement, openDatabase } from "./sqlite.js";

export interface RetentionOptions {
  /** Keep at most this many batches (newest first); open batches are never pruned. */
  maxBatches?: number;
  /** Drop finished batches not updated for this long. */
  maxAgeMs?: number;
}

export interface BatchSummary {
  batchId: string;
  agentId: string;
  requester: string;
  createdAt: number;
  updatedAt: number;
  open: boolean;
}

type BatchMeta = Omit<BatchRecord, "runs">;
type RunRow = Omit<RunRecord, "attempts">;

export class BatchStore {
  private readonly db: Database;
  /** Prepared once per SQL text: preparing on every write cost more than the write (bench/). */
  private readonly statements = new Map<string, Statement>();

  private constructor(readonly path: string, db: Database) {
    this.db = db;
  }

  /** Opens (creating and migrating when needed) the store under `dir`, importing an old JSONL ledger once. */
  static open(dir: string, options: { readOnly?: boolean; busyTimeoutMs?: number } = {}): BatchStore {
    const path = join(dir, "batches.sqlite");
    if (options.readOnly && !existsSync(path)) throw new Error(`no batch store at ${path}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const db = openDatabase(path, options.busyTimeoutMs ?? 5_000, options.readOnly);
    if (!options.readOnly) chmodSync(path, 0o600);
    if (!options.readOnly) db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    const store = new BatchStore(path, db);
    if (!options.readOnly) {
      try {
        store.migrate();
        store.importLedger(join(dir, "batches"));
      } catch (err) {
        db.close();
        throw err;
      }
    }
    return store;
  }

  /** The 0.1 JSONL ledger, once: committed first, then its folder renamed (a crash in between re-imports idempotently). */
  private importLedger(ledgerDir: string): void {
    const batches = readJsonlLedger(ledgerDir);
    if (!batches) return;
    this.tx(() => batches.forEach((batch) => this.insertIfAbsent(batch)));
    markLedgerImported(ledgerDir);
  }

  close(): void {
    this.db.close();
  }

  private sql(text: string): Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

  /** Runs `body` in one write transaction (IMMEDIATE: takes the write lock up front). */
  tx<T>(body: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = body();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  create(batch: BatchRecord): void {
    this.tx(() => this.insert(batch));
  }

  /** Writes one run (its row and its attempts) in one transaction, with the batch's header unless `headerToo` is false. */
  saveRun(batch: BatchRecord, index: number, run: RunRecord, headerToo = true): void {
    this.saveRuns(batch, [[index, run]], headerToo);
  }

  /** Writes several runs of one batch (a group of changes), with its header when `headerToo`, in one transaction. */
  saveRuns(batch: BatchRecord, runs: readonly (readonly [index: number, run: RunRecord])[], headerToo: boolean): void {
    this.tx(() => {
      for (const [index, run] of runs) this.writeRun(batch.batchId, index, run);
      if (headerToo) this.writeHeader(batch);
    });
  }

  saveHeader(batch: BatchRecord): void {
    this.tx(() => this.writeHeader(batch));
  }

  /** A value the plugin keeps beside its batches (e.g. learned provider caps). */
  getMeta(key: string): string | undefined {
    return this.sql("SELECT value FROM meta WHERE key = ?").get(key)?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.sql("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(key, value);
  }

  load(batchId: string): BatchRecord | undefined {
    const head = this.sql("SELECT record FROM batches WHERE id = ?").get(batchId);
    if (!head) return undefined;
    const batch = { ...(JSON.parse(head.record as string) as BatchMeta), runs: [] as RunRecord[] };
    for (const row of this.sql("SELECT idx, record FROM runs WHERE batch_id = ? ORDER BY idx").all(batchId)) {
      batch.runs[row.idx as number] = { ...(JSON.parse(row.record as string) as RunRow), attempts: [] };
    }
    for (const row of this.sql("SELECT idx, record FROM attempts WHERE batch_id = ? ORDER BY idx, n").all(batchId)) {
      batch.runs[row.idx as number]?.attempts.push(JSON.parse(row.record as string) as Attempt);
    }
    return batch;
  }

  /** Ids of batches with work left (runs not terminal, or a notice still owed). */
  openBatchIds(): string[] {
    return this.sql("SELECT id FROM batches WHERE open = 1 ORDER BY created_at").all().map((r) => r.id as string);
  }

  /** The newest batches (of one agent, when given). */
  list(limit = 50, agentId?: string): BatchSummary[] {
    return this.sql("SELECT id, agent_id, requester, created_at, updated_at, open FROM batches WHERE ?1 IS NULL OR agent_id = ?1 ORDER BY created_at DESC LIMIT ?2")
      .all(agentId ?? null, limit)
      .map((r) => ({
        batchId: r.id as string,
        agentId: r.agent_id as string,
        requester: r.requester as string,
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
        open: r.open === 1,
      }));
  }

  /** Bounded retention by query: finished batches beyond the newest `maxBatches`, or older than `maxAgeMs`. */
  prune(options: RetentionOptions = {}, now = Date.now()): number {
    const maxBatches = options.maxBatches ?? 200;
    const cutoff = now - (options.maxAgeMs ?? 7 * 24 * 3600_000);
    return this.tx(() => {
      const doomed = this.db
        .prepare(
          `SELECT id FROM batches WHERE open = 0 AND (updated_at < ? OR id NOT IN
             (SELECT id FROM batches WHERE open = 0 ORDER BY created_at DESC LIMIT ?))`,
        )
        .all(cutoff, maxBatches)
        .map((r) => r.id as string);
      const del = this.sql("DELETE FROM batches WHERE id = ?");
      for (const id of doomed) del.run(id);
      return doomed.length;
    });
  }

  private migrate(): void {
    this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const version = Number(this.getMeta("schema_version") ?? 0);
    if (version > MIGRATIONS.length) {
      throw new Error(`batch store ${this.path} has schema version ${version}, newer than this plugin knows (${MIGRATIONS.length}); upgrade the plugin`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.tx(() => {
        this.db.exec(MIGRATIONS[v]);
        this.setMeta("schema_version", String(v + 1));
      });
    }
  }

  private insertIfAbsent(batch: BatchRecord): void {
    if (!this.sql("SELECT 1 FROM batches WHERE id = ?").get(batch.batchId)) this.insert(batch);
  }

  private insert(batch: BatchRecord): void {
    this.writeHeader(batch);
    batch.runs.forEach((run, i) => this.writeRun(batch.batchId, i, run));
  }

  private writeHeader(batch: BatchRecord): void {
    const { runs, ...meta } = batch;
    this.sql(
      `INSERT INTO batches (id, created_at, updated_at, agent_id, requester, open, record) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, open = excluded.open, record = excluded.record`,
    ).run(batch.batchId, batch.createdAt, Date.now(), batch.agentId, batch.requester, batch.open === false ? 0 : 1, JSON.stringify(meta));
  }

  private writeRun(batchId: string, index: number, run: RunRecord): void {
    const { attempts, ...row } = run;
    this.sql(
      `INSERT INTO runs (batch_id, idx, label, state, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(batch_id, idx) DO UPDATE SET state = excluded.state, record = excluded.record`,
    ).run(batchId, index, run.spec.label, run.state, JSON.stringify(row));
    const put = this.sql(
      `INSERT INTO attempts (batch_id, idx, n, outcome, record) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(batch_id, idx, n) DO UPDATE SET outcome = excluded.outcome, record = excluded.record`,
    );
    for (const a of attempts) put.run(batchId, index, a.n, a.outcome ?? null, JSON.stringify(a));
    // An attempt the host refused to start is dropped from the run (transition "defer").
    this.sql("DELETE FROM attempts WHERE batch_id = ? AND idx = ? AND n > ?").run(batchId, index, attempts.length);
  }
}
