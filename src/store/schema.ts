// Schema migrations of the batch store, applied in order; schema_version in `meta` counts the
// ones applied. Append new migrations, never edit a shipped one.
export const MIGRATIONS: string[] = [
  `CREATE TABLE batches (
     id TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     agent_id TEXT NOT NULL,
     requester TEXT NOT NULL,
     open INTEGER NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX batches_open ON batches (open, created_at);
   CREATE TABLE runs (
     batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     label TEXT NOT NULL,
     state TEXT NOT NULL,
     record TEXT NOT NULL,
     PRIMARY KEY (batch_id, idx)
   );
   CREATE TABLE attempts (
     batch_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     n INTEGER NOT NULL,
     outcome TEXT,
     record TEXT NOT NULL,
     PRIMARY KEY (batch_id, idx, n),
     FOREIGN KEY (batch_id, idx) REFERENCES runs (batch_id, idx) ON DELETE CASCADE
   );`,
];
