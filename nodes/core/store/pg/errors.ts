/* PostgreSQL and socket errors as the store's StoreError codes (errors.ts one folder up): what the operator can do
   about them differs (retry, fix a setting, upgrade SerialFlow), so each cause has its code. */
import { PssError, StoreError } from "../errors";

/** SQLSTATEs and socket errors that mean the connection (not the statement) failed. */
const CONNECTION_CODES = new Set(["57P01", "57P02", "57P03", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** Whether `err` is a lost or refused connection (pgCode it carries, or "" when node-postgres gave none). */
export function connectionFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return code;
  const msg = (err as Error)?.message ?? "";
  if (/Connection terminated|connection error|Client has encountered a connection error|not queryable|Connection ended|terminating connection/i.test(msg)) return typeof code === "string" ? code : "";
  return undefined;
}

/** A refused login: the server's SQLSTATE 28P01 / 28000, or node-postgres's own refusal to answer a password request. */
function authFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code === "28P01" || code === "28000") return code;
  const msg = (err as Error)?.message ?? "";
  if (/password authentication failed|client password must be a string|SASL: SCRAM|password must be a string|no password/i.test(msg)) return typeof code === "string" ? code : "";
  return undefined;
}

/** A TLS connection that could not be set up: a server without TLS, or a certificate Node.js does not trust. */
function tlsFailure(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && (/^ERR_(TLS|SSL)_/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH/.test(code))) return code;
  const msg = (err as Error)?.message ?? "";
  if (/server does not support SSL|self[- ]signed certificate|unable to verify the first certificate|certificate has expired|Hostname\/IP does not match certificate/i.test(msg)) return typeof code === "string" ? code : "";
  return undefined;
}

/** A pg error as a StoreError (AuthenticationFailed, TlsFailed, ConnectionLost, PoolBusy, StorageError); PssError
 *  and StoreError pass unchanged. */
export function asPgStoreError(err: unknown, where: string, phase: "connect" | "body" | "commit"): unknown {
  if (err instanceof StoreError || err instanceof PssError) return err;
  const msg = (err as Error)?.message ?? String(err);
  const auth = authFailure(err);
  if (auth !== undefined) {
    return new StoreError("AuthenticationFailed", `the PostgreSQL server refused the login for the pool ${where} (authentication failed: ${msg}); check the user and the password (in the URL, or given apart from it); nothing was changed`, undefined, { pgCode: auth });
  }
  const tls = tlsFailure(err);
  if (tls !== undefined) {
    return new StoreError("TlsFailed", `no TLS connection to the PostgreSQL pool ${where} (${msg}); check the server's TLS set-up and the ssl settings (ca, rejectUnauthorized, or sslmode in the URL); nothing was changed`, undefined, { pgCode: tls });
  }
  const lost = connectionFailure(err);
  if (lost !== undefined) {
    if (phase === "connect") return new StoreError("ConnectionLost", `cannot reach the PostgreSQL pool ${where}: ${msg}; nothing was changed, try again`, undefined, { pgCode: lost });
    if (phase === "commit") {
      return new StoreError("ConnectionLost", `the connection to the PostgreSQL pool ${where} broke while committing (${msg}): the call either committed whole or not at all; check before repeating it`, undefined, { pgCode: lost, inDoubt: true });
    }
    return new StoreError("ConnectionLost", `the connection to the PostgreSQL pool ${where} broke during the call (${msg}); the transaction was rolled back, nothing was changed; try again`, undefined, { pgCode: lost });
  }
  const code = (err as { code?: unknown })?.code;
  if (code === "40P01" || code === "40001" || code === "55P03") return new StoreError("PoolBusy", `the PostgreSQL pool ${where} is busy (${code}: ${msg}); nothing was changed, try again`, undefined, { pgCode: code });
  if (code === "53100") return new StoreError("DiskFull", `the PostgreSQL server of ${where} is out of disk space (${msg}); nothing was changed`, undefined, { pgCode: code });
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("23") && !code.startsWith("22")) {
    return new StoreError("StorageError", `the PostgreSQL pool ${where} failed: ${code}: ${msg}; nothing was changed`, undefined, { pgCode: code });
  }
  return err;
}

