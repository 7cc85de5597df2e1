/* The serialflow command table: one row per command. A command's code lives in bin/commands/<name>.ts
   and is loaded only when that command runs, so `serialflow --help` stays fast. */

export interface CommandRow {
  /** words that select the command, e.g. ["audit", "verify"] */
  words: string[];
  /** may span lines; continuation lines start with four spaces (--help prints them as they are) */
  usage: string;
  summary: string;
  /** module under bin/commands exporting `run(args: string[]): Promise<number>` (the exit code); absent = not built yet */
  module?: string;
}

/** `serialflow epcis export`: every option bin/commands/epcis.ts accepts (a test holds the two together). */
export const EPCIS_EXPORT_USAGE = [
  "serialflow epcis export --db FILE --out FILE [--from T] [--to T] [--pool ID]",
  "    [--company-prefix-length N] [--company-prefixes 'PREFIX:LEN, ...'] [--prefix-file gcpprefixformatlist.xml]",
  "    [--identifiers epc|digitalLink] [--gtin GTIN | --gtin POOL=GTIN ...] [--time-zone-offset +hh:mm|IANA-ZONE]",
  "    [--read-point GLN[.EXT]] [--biz-location GLN[.EXT]] [--market CODE] [--format jsonld|xml12]",
  "    [--include-internal] [--no-preflight] [--sender ID] [--receiver ID]",
].join("\n");

/** `serialflow serve`: every option bin/commands/serve.ts accepts. */
export const SERVE_USAGE = [
  "serialflow serve --db FILE | --pg URL [--schema S] --port N [--host ADDR] [--user NAME:PASSWORD:ROLE]... [--allow-anonymous]",
  "    [--sid-class ID] [--pki DIR] [--trust CERT]... [--auto-accept-certificates] [--security-none]",
  "    [--max-sessions N] [--max-session-timeout SECONDS] [--max-connections N] [--handshake-timeout SECONDS]",
].join("\n");

export const COMMANDS: CommandRow[] = [
  { words: ["pool", "status"], usage: "serialflow pool status --db FILE | --pg URL [--schema S] [--pool ID]", summary: "print the count of serial numbers per pool (or of one pool) and state, of a pool file or a PostgreSQL schema", module: "pool-status" },
  { words: ["pool", "create"], usage: "serialflow pool create --db FILE | --pg URL [--schema S] --pool ID --sid-class CLASS [--gtin GTIN] [--low-threshold N] [--guard strict|record] [--default]", summary: "make a pool (and the pool file, or the PostgreSQL schema's tables, when they do not exist yet)", module: "pool-create" },
  { words: ["pool", "generate"], usage: "serialflow pool generate --db FILE | --pg URL [--schema S] --pool ID --count N", summary: "generate N new serial numbers (Unassigned) into a pool with its SID class's generator (progress on a terminal)", module: "pool-generate" },
  { words: ["pool", "request"], usage: "serialflow pool request --db FILE | --pg URL [--schema S] [--pool ID] --count N [--target Allocated|Unallocated|Unassigned] [--collection ID]", summary: "draw N serial numbers through the PSS request (SNRequestAllocated by default; every page, following the request tokens) and print them one per line on stdout, a summary on stderr; a repeated --collection with the same count prints the same numbers again; exit 1 when refused (nothing drawn), 3 when the pool had fewer (those printed are drawn)", module: "pool-request" },
  { words: ["pool", "import"], usage: "serialflow pool import --db FILE --pool ID FILE", summary: "load an authority file (one serial number or code per line) into a pool, all lines or none; every error names the line and the serial (progress on a terminal)", module: "pool-import" },
  { words: ["pool", "copy"], usage: "serialflow pool copy --db FILE --pool ID --pg URL [--schema S]", summary: "copy a pool of a pool file into PostgreSQL in one transaction: numbers with their states, collections, properties and its audit records with their pool-file hashes; refused when the pool exists there; then counts and the audit chain are verified", module: "pool-copy" },
  { words: ["pool", "reconcile"], usage: "serialflow pool reconcile --db FILE [--pool ID] [--older-than DURATION] [--apply] [--report] [--json]", summary: "list numbers stranded Allocated or Encoded (by collection and age); --apply invalidates the never printed and scraps the printed; --report counts each pool and lot for batch release", module: "reconcile" },
  { words: ["audit", "verify"], usage: "serialflow audit verify --db FILE | --pg URL [--schema S]", summary: "a pool file (read-only): SQLite integrity check, the audit log's hash chain, and a replay of the log against every stored state; PostgreSQL: the schema's chain and each copied pool against its pool-file hashes; names the first record or number that differs", module: "audit" },
  { words: ["serve"], usage: SERVE_USAGE, summary: "run a headless OPEN-SCS OPC UA server (loopback unless --host) on a pool file (made, with a default pool, when absent) or a PostgreSQL schema (made by pool create; packing and EPCISStream documents are refused there, not built yet)", module: "serve" },
  { words: ["epcis", "export"], usage: EPCIS_EXPORT_USAGE, summary: "write the audited events (of a period, of one pool; default: the whole log) as an EPCIS 2.0 JSON-LD document; EPC URIs with a company prefix length, GS1 Digital Link URIs without one (progress on a terminal)", module: "epcis" },
  { words: ["epcis", "import"], usage: "serialflow epcis import --db FILE --pool ID [--sscc-pool ID] FILE", summary: "apply a received EPCIS document (JSON-LD or XML) to the pool, all or nothing; a document applied before changes nothing", module: "epcis-import" },
];
