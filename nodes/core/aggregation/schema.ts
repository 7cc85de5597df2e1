/* The aggregation tables, kept in the pool file next to the serial numbers so that packing and state changes
   share one transaction. Keys are serial number values (not rowids, which a VACUUM may renumber). */

export const AGGREGATION_SCHEMA = `
CREATE TABLE IF NOT EXISTS agg_link (
  child TEXT PRIMARY KEY,
  parent TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_link_parent ON agg_link(parent);

CREATE TABLE IF NOT EXISTS agg_parent (
  parent TEXT PRIMARY KEY,
  level TEXT NOT NULL,
  count INTEGER NOT NULL,
  gtin TEXT NOT NULL,
  lot TEXT NOT NULL,
  packed TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS agg_builder (
  id TEXT PRIMARY KEY,
  levels TEXT NOT NULL,
  last_closed TEXT NOT NULL,
  updated TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS agg_pending (
  child TEXT PRIMARY KEY,
  builder TEXT NOT NULL,
  level INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  gtin TEXT NOT NULL,
  lot TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_pending_builder ON agg_pending(builder, level, pos);
`;
