/* The SQLite schema of a pool file. Integer keys for pools and collections keep the per-number rows and the
   "free numbers of a pool in a state" index small; the value index makes every serial number unique in the file. */

/** the pool schema's version, kept in SQLite's user_version (and meta.schema_version); 2 added sn_request */
export const SCHEMA_VERSION = 2;
/** SQLite application_id of a SerialFlow pool file: "SFLW" (0x53464C57), so other tools (and we) can tell it */
export const APPLICATION_ID = 0x53464c57;
/** the tables every pool file has: a file with other tables and none of these is not ours */
export const POOL_TABLES = ["meta", "pool", "sn_collection", "serial_number", "audit", "audit_head"];

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS pool (
  pk INTEGER PRIMARY KEY,
  pool_id TEXT NOT NULL UNIQUE,
  sid_class TEXT NOT NULL,
  selection_criteria TEXT NOT NULL,
  guard_policy TEXT NOT NULL CHECK (guard_policy IN ('strict', 'record')),
  low_threshold INTEGER NOT NULL,
  max_request INTEGER NOT NULL,
  max_count INTEGER NOT NULL,
  is_default INTEGER NOT NULL,
  created TEXT NOT NULL
);

-- the serial rule of a pool of SID class "custom" (a class the package does not know): its own pattern and length
CREATE TABLE IF NOT EXISTS pool_serial_rule (
  pool INTEGER PRIMARY KEY REFERENCES pool(pk),
  pattern TEXT NOT NULL,
  min_length INTEGER NOT NULL,
  max_length INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sn_collection (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  pool INTEGER NOT NULL REFERENCES pool(pk),
  description TEXT NOT NULL,
  state INTEGER NOT NULL,
  created TEXT NOT NULL,
  actor TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS label_collection (
  pk INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  properties TEXT NOT NULL,
  created TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS serial_number (
  value TEXT NOT NULL,
  pool INTEGER NOT NULL,
  state INTEGER NOT NULL,
  sn_collection INTEGER,
  label_collection INTEGER,
  properties TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS serial_number_value ON serial_number(value);
CREATE INDEX IF NOT EXISTS serial_number_pool_state ON serial_number(pool, state, sn_collection);

CREATE TABLE IF NOT EXISTS pool_count (
  pool INTEGER NOT NULL,
  state INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (pool, state)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS request_token (
  token TEXT PRIMARY KEY,
  pool INTEGER NOT NULL,
  target INTEGER NOT NULL,
  sn_collection INTEGER NOT NULL,
  remaining INTEGER NOT NULL,
  expires INTEGER NOT NULL
) WITHOUT ROWID;

-- what a request with an snCollectionId asked and got: a repeat of it (a retry after a lost answer) gets the same
CREATE TABLE IF NOT EXISTS sn_request (
  sn_collection INTEGER PRIMARY KEY,
  target INTEGER NOT NULL,
  count INTEGER NOT NULL,
  numbers TEXT NOT NULL,
  token TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  event TEXT NOT NULL,
  pool_id TEXT NOT NULL,
  serial_numbers TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT,
  context TEXT NOT NULL,
  anomaly INTEGER NOT NULL,
  method TEXT,
  sn_collection_id TEXT,
  label_collection_id TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);

CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '${"0".repeat(64)}');

CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_head_follow AFTER INSERT ON audit
BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS audit_head_guard BEFORE UPDATE ON audit_head
WHEN NEW.seq IS NOT (SELECT max(seq) FROM audit) OR NEW.hash IS NOT (SELECT hash FROM audit WHERE seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'the audit head only follows the last audit record'); END;
CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END;
`;
