/* serialflow serve: a headless OPEN-SCS OPC UA server on a pool file or a PostgreSQL schema. */
import * as fs from "fs";
import * as path from "path";
import { parseArgs, required, UsageError } from "../args";
import { openPoolStore, SN_FORMATS } from "../../nodes/core/store";
import { createOpenScsServer, sessionLimits, ROLES, Role, OpenScsUser, OpenScsSessionLimits } from "../../nodes/core/opcua";
import type { OpenScsBackend, StoreLike } from "../../nodes/core/opcua";
import { PgBackend } from "../../nodes/core/opcua/pg-backend";
import type { PgPoolEngine } from "../../nodes/core/store/pg";
import { TARGET_VALUES, Target, openPg, pgName, target } from "../target";
import { SERVE_USAGE } from "../commands";

const LIMIT_FLAGS: Array<[string, keyof OpenScsSessionLimits, number]> = [
  ["max-sessions", "maxSessions", 1], ["max-session-timeout", "maxSessionTimeout", 1000], ["max-connections", "maxConnections", 1], ["handshake-timeout", "handshakeTimeout", 1000],
];

/** The session limits given by flags (timeouts in seconds), checked. */
function limitFlags(p: { options: Map<string, string[]> }): OpenScsSessionLimits {
  const out: Partial<OpenScsSessionLimits> = {};
  for (const [flag, key, scale] of LIMIT_FLAGS) {
    const v = p.options.get(flag)?.at(-1);
    if (v === undefined) continue;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1) throw new UsageError(`--${flag} ${v} is not a whole number of at least 1`);
    out[key] = n * scale;
  }
  try {
    return sessionLimits(out);
  } catch (err) {
    const flag = LIMIT_FLAGS.find(([, k]) => (err as Error).message.startsWith(k));
    throw new UsageError(`--${flag?.[0] ?? "limits"}: ${(err as Error).message}${flag && flag[2] === 1000 ? " (ms; the flag is in seconds)" : ""}`);
  }
}

/** The SID class of the default pool created on an empty file, when --sid-class is not given. */
export const DEFAULT_SID_CLASS = "GS1-SGTIN";

const USAGE = SERVE_USAGE;

/** What the server runs on: its backend (or store), a name for messages, and how to let go of it. */
interface Served {
  options: { store: StoreLike } | { backend: OpenScsBackend };
  /** the pool file, or "schema S of postgres://..." */
  name: string;
  /** the PKI folder when --pki is not given */
  defaultPki: string;
  close(): Promise<void>;
}

/** The pool file, made with a default pool when it has none (as before PostgreSQL). */
function openFile(db: string, sidClass: string | undefined): Served | number {
  let store;
  try {
    store = openPoolStore(db, { actor: "serialflow-serve" });
  } catch (err) {
    console.error(`serialflow serve: cannot open ${db}: ${(err as Error).message}`);
    return 1;
  }
  if (store.listPools().length === 0) {
    const cls = sidClass ?? DEFAULT_SID_CLASS;
    try {
      store.createPool({ poolId: "default", sidClass: cls, isDefault: true });
    } catch (err) {
      store.close();
      console.error(`serialflow serve: cannot create the default pool: ${(err as Error).message}`);
      return 2;
    }
    console.log(`serialflow serve: ${db} had no pool; created the default pool (SID class ${cls})`);
  }
  const s = store;
  return { options: { store: s }, name: db, defaultPki: `${db}.pki`, close: async () => s.close() };
}

/**
 * A PostgreSQL schema. Unlike a pool file it is never made here: a schema without SerialFlow tables is refused (a
 * typo in --schema must not serve an empty global pool); `serialflow pool create --pg` makes it. A schema that has
 * the tables but no pool gets the default pool, as a file does.
 */
async function openSchema(t: { url: string; schema: string }, sidClass: string | undefined): Promise<Served | number> {
  const name = pgName(t);
  let engine: PgPoolEngine;
  try {
    engine = await openPg(t, { create: false, actor: "serialflow-serve", connections: 10, applicationName: "serialflow-serve" });
  } catch (err) {
    console.error(`serialflow serve: cannot open ${name}: ${(err as Error).message}${/holds no SerialFlow pool/.test((err as Error).message) ? " (serialflow pool create --pg URL --schema S ... makes one)" : ""}`);
    return 1;
  }
  try {
    if ((await engine.pools()).length === 0) {
      const cls = sidClass ?? DEFAULT_SID_CLASS;
      await engine.createPool({ poolId: "default", sidClass: cls, isDefault: true }, { actor: "serialflow-serve" });
      console.log(`serialflow serve: ${name} had no pool; created the default pool (SID class ${cls})`);
    }
    const backend = await PgBackend.open(engine);
    const pools = backend.describe().pools.map((p) => p.poolId);
    console.log(`serialflow serve: serving ${pools.length} pool(s) of ${name}: ${pools.join(", ")}`);
    return { options: { backend }, name, defaultPki: `serialflow-${t.schema}.pki`, close: () => engine.close() };
  } catch (err) {
    await engine.close().catch(() => undefined);
    console.error(`serialflow serve: ${name}: ${(err as Error).message}`);
    return 1;
  }
}

function parseUser(spec: string): OpenScsUser {
  // NAME:PASSWORD:ROLE[,ROLE]; the password may itself contain ":" (the role is after the last one)
  const first = spec.indexOf(":");
  const last = spec.lastIndexOf(":");
  if (first <= 0 || last === first) throw new UsageError(`--user "${spec.split(":")[0]}:…": expected NAME:PASSWORD:ROLE`);
  const name = spec.slice(0, first);
  const password = spec.slice(first + 1, last);
  const roles = spec.slice(last + 1).split(",").filter(Boolean) as Role[];
  if (!password) throw new UsageError(`--user ${name}: the password is empty`);
  for (const r of roles) if (!ROLES.includes(r)) throw new UsageError(`--user ${name}: unknown role "${r}" (roles: ${ROLES.join(", ")})`);
  if (roles.length === 0) throw new UsageError(`--user ${name}: no role given (roles: ${ROLES.join(", ")})`);
  return { name, password, roles };
}

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, { values: [...TARGET_VALUES, "port", "host", "user", "sid-class", "pki", "trust", ...LIMIT_FLAGS.map(([f]) => f)], flags: ["allow-anonymous", "auto-accept-certificates", "security-none"] });
  } catch (err) {
    console.error(`serialflow serve: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  let where: Target, port: number, users: OpenScsUser[], limits: OpenScsSessionLimits;
  try {
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    where = target(p);
    port = Number(required(p, "port"));
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${required(p, "port")} is not a TCP port number`);
    users = (p.options.get("user") ?? []).map(parseUser);
    limits = limitFlags(p);
  } catch (err) {
    console.error(`serialflow serve: ${(err as Error).message}\nUsage: ${USAGE}`);
    return 2;
  }
  const allowAnonymous = p.flags.has("allow-anonymous");
  if (!allowAnonymous && users.length === 0) {
    console.error("serialflow serve: no --user given and anonymous access is off: nobody could call the server.\nUsage: " + USAGE);
    return 2;
  }
  const sidClass = p.options.get("sid-class")?.at(-1);
  const served = where.kind === "db" ? openFile(where.file, sidClass) : await openSchema(where, sidClass);
  if (typeof served === "number") return served;
  const pkiFolder = path.resolve(p.options.get("pki")?.at(-1) ?? served.defaultPki);
  if (allowAnonymous) console.warn("serialflow serve: WARNING anonymous access is on (development only): anyone who reaches the port may request, push and report");
  if (p.flags.has("auto-accept-certificates")) console.warn("serialflow serve: WARNING every client certificate is trusted (development only)");
  let server;
  try {
    server = await createOpenScsServer({
      ...served.options,
      port,
      host: p.options.get("host")?.at(-1) ?? "127.0.0.1",
      pkiFolder,
      users,
      allowAnonymous,
      autoAcceptUnknownCertificates: p.flags.has("auto-accept-certificates"),
      security: p.flags.has("security-none") ? { modes: ["None", "SignAndEncrypt"] } : undefined,
      snFormats: [...SN_FORMATS],
      sessionLimits: limits,
    });
  } catch (err) {
    await served.close().catch(() => undefined);
    console.error(`serialflow serve: cannot start the server: ${(err as Error).message}`);
    return 1;
  }
  for (const file of p.options.get("trust") ?? []) await server.trustClientCertificate(readCertificate(file));
  const certFile = path.join(pkiFolder, "server-certificate.der");
  fs.writeFileSync(certFile, server.certificate);
  console.log(`serialflow serve: OPEN-SCS server listening on ${server.endpointUrl}`);
  console.log(`serialflow serve: at most ${limits.maxSessions} sessions (timeout at most ${limits.maxSessionTimeout / 1000} s), ${limits.maxConnections} connections, ${limits.handshakeTimeout / 1000} s to open a secure channel`);
  console.log(`serialflow serve: server certificate (give it to clients to trust): ${certFile}`);
  console.log(`serialflow serve: trusted client certificates go in ${path.join(pkiFolder, "server", "trusted", "certs")}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`serialflow serve: ${signal}: stopping`);
      server.shutdown().then(
        async () => {
          // on PostgreSQL: waits for the audit records committed by the last calls to be linked into the chain
          try {
            await served.close();
          } catch (err) {
            console.error(`serialflow serve: closing ${served.name} failed: ${(err as Error).message}`);
            resolve(1);
            return;
          }
          console.log("serialflow serve: stopped");
          resolve(0);
        },
        async (err: unknown) => {
          await served.close().catch(() => undefined);
          console.error(`serialflow serve: shutdown failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}

/** A certificate file in DER or PEM. */
function readCertificate(file: string): Buffer {
  const raw = fs.readFileSync(file);
  const text = raw.toString("latin1");
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  return m ? Buffer.from(m[1].replace(/\s+/g, ""), "base64") : raw;
}
