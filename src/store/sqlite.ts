// The slice of Node's built-in `node:sqlite` the store uses. Loaded on first use through
// process.getBuiltinModule: it exists in the gateway's Node (>= 24.16) and importing it statically
// would break loading the plugin anywhere else (this repo's own Node 20 tooling, for one).

export interface Statement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
}

export interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}

type SqliteModule = { DatabaseSync: new (path: string, options?: { timeout?: number; readOnly?: boolean }) => Database };

export function openDatabase(path: string, busyTimeoutMs: number, readOnly = false): Database {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const sqlite = getBuiltin?.("node:sqlite") as SqliteModule | undefined;
  if (!sqlite?.DatabaseSync) {
    throw new Error(`parallel-agents needs node:sqlite (Node >= 24.16, as the OpenClaw gateway runs); this is Node ${process.versions.node}`);
  }
  return new sqlite.DatabaseSync(path, { timeout: busyTimeoutMs, readOnly });
}
