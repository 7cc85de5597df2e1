/* What keeps one misbehaving client from locking the lines out of an OPEN-SCS server: session and connection
   limits (with the sessions of dead connections reclaimed first), a slowdown of failed logins and refused calls
   per user and per address, and one log line per malformed structure instead of node-opcua's decoder dump. */
import { AsyncLocalStorage } from "async_hooks";
import * as util from "util";
import { setWarningLogger } from "node-opcua";
import type { OPCUAServer } from "node-opcua";

export interface OpenScsSessionLimits {
  /** sessions open at once, all clients together (node-opcua's default is 10) */
  maxSessions: number;
  /** the longest session timeout a client may ask for, in ms; a session whose client vanished lives that long at most */
  maxSessionTimeout: number;
  /** TCP connections per endpoint, open at once (handshaking or not) */
  maxConnections: number;
  /** how long a new TCP connection may take to say Hello, in ms; a silent socket is closed after it */
  handshakeTimeout: number;
}

export const DEFAULT_SESSION_LIMITS: OpenScsSessionLimits = {
  maxSessions: 100,
  maxSessionTimeout: 5 * 60_000,
  maxConnections: 150,
  handshakeTimeout: 10_000,
};

/** The session limits with the defaults filled in; maxConnections follows maxSessions unless given. */
export function sessionLimits(given: Partial<OpenScsSessionLimits> | undefined): OpenScsSessionLimits {
  const g = Object.fromEntries(Object.entries(given ?? {}).filter(([, v]) => v !== undefined && v !== null)) as Partial<OpenScsSessionLimits>;
  const maxSessions = g.maxSessions ?? DEFAULT_SESSION_LIMITS.maxSessions;
  const out: OpenScsSessionLimits = {
    maxSessions,
    maxSessionTimeout: g.maxSessionTimeout ?? DEFAULT_SESSION_LIMITS.maxSessionTimeout,
    // a client holds one connection per session at most, plus a short one to read the endpoints
    maxConnections: g.maxConnections ?? Math.max(DEFAULT_SESSION_LIMITS.maxConnections, maxSessions + 50),
    handshakeTimeout: g.handshakeTimeout ?? DEFAULT_SESSION_LIMITS.handshakeTimeout,
  };
  const range: Record<keyof OpenScsSessionLimits, [number, number]> = {
    maxSessions: [1, 100_000],
    maxSessionTimeout: [1_000, 24 * 3_600_000],
    maxConnections: [1, 100_000],
    handshakeTimeout: [1_000, 600_000],
  };
  for (const [k, [lo, hi]] of Object.entries(range) as Array<[keyof OpenScsSessionLimits, [number, number]]>) {
    const v = out[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new Error(`${k} must be a whole number from ${lo} to ${hi}, not ${JSON.stringify(v)}`);
  }
  return out;
}

interface SessionLike {
  authenticationToken: { toString(): string };
  channel?: object;
  status?: string;
  clientLastContactTime?: number;
  sessionName?: string;
}
interface EndpointLike {
  getChannels(): object[];
}
type Handler = (this: OPCUAServer, message: { request: { requestedSessionTimeout?: number } }, channel: unknown) => unknown;

/** Cap the session timeout clients ask for, and when the session limit is reached, close the sessions whose
    connection is gone (oldest contact first) before node-opcua refuses the new one with Bad_TooManySessions. */
export function installSessionLimits(server: OPCUAServer, limits: OpenScsSessionLimits, log: (m: string) => void): void {
  const raw = server as unknown as Record<string, unknown> & { engine: { _sessions: Record<string, SessionLike>; currentSessionCount: number; closeSession(token: unknown, deleteSubscriptions: boolean, reason: string): unknown }; endpoints: EndpointLike[] };
  const original = raw._on_CreateSessionRequest as Handler;
  raw._on_CreateSessionRequest = async function (this: OPCUAServer, message: { request: { requestedSessionTimeout?: number } }, channel: unknown) {
    const req = message.request;
    if (!(typeof req.requestedSessionTimeout === "number" && req.requestedSessionTimeout > 0 && req.requestedSessionTimeout <= limits.maxSessionTimeout)) {
      req.requestedSessionTimeout = limits.maxSessionTimeout;
    }
    if (raw.engine.currentSessionCount >= limits.maxSessions) reclaimOrphans(1);
    return original.call(this, message, channel);
  };

  /** close up to `needed` sessions whose connection is closed */
  function reclaimOrphans(needed: number): void {
    const open = new Set<object>();
    for (const ep of raw.endpoints) for (const ch of ep.getChannels()) open.add(ch);
    const orphans = Object.values(raw.engine._sessions)
      .filter((s) => !s.channel || !open.has(s.channel))
      .sort((a, b) => (a.clientLastContactTime ?? 0) - (b.clientLastContactTime ?? 0));
    if (orphans.length === 0) {
      log(`OPEN-SCS session limit reached (${limits.maxSessions} sessions, all with a live connection): new session refused`);
      return;
    }
    for (const s of orphans.slice(0, Math.max(needed, 1))) {
      log(`OPEN-SCS session limit reached (${limits.maxSessions}): closing session "${s.sessionName ?? ""}" whose connection is gone`);
      raw.engine.closeSession(s.authenticationToken, true, "Forcing");
    }
  }
}

/** Close every TCP connection that has not opened its secure channel (Hello, then OpenSecureChannel) within
    `ms`. node-opcua's own `timeout` cannot do this: it is also the idle time after which it drops an established
    connection, so it must stay long. Call after server.start(). */
export function installHandshakeDeadline(server: OPCUAServer, ms: number): void {
  type Channel = { remotePort?: number; remoteAddress?: string; isOpened?: boolean };
  for (const ep of server.endpoints as unknown as Array<{ _server?: { on(e: "connection", f: (s: import("net").Socket) => void): void }; getChannels(): Channel[] }>) {
    ep._server?.on("connection", (socket) => {
      const port = socket.remotePort;
      const address = socket.remoteAddress;
      const timer = setTimeout(() => {
        if (socket.destroyed) return;
        const opened = ep.getChannels().some((ch) => ch.remotePort === port && ch.remoteAddress === address && ch.isOpened === true);
        if (!opened) socket.destroy();
      }, ms);
      timer.unref();
      socket.once("close", () => clearTimeout(timer));
    });
  }
}

// ---------------------------------------------------------------------------------------------------

export interface ThrottleOptions {
  /** the delay after the first failure, in ms; it doubles with each further failure */
  baseDelay: number;
  /** the longest delay, in ms */
  maxDelay: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { baseDelay: 500, maxDelay: 10_000 };

/** A growing delay per key (a user name, an address): none until a failure, then baseDelay, doubling up to
    maxDelay; a success resets the keys it names. Attempts on a throttled key are spaced out, parallel or not. */
export class Throttle {
  private readonly entries = new Map<string, { failures: number; until: number }>();
  private static readonly MAX_KEYS = 10_000;

  constructor(private readonly options: ThrottleOptions) {}

  delayAfter(failures: number): number {
    return failures <= 0 ? 0 : Math.min(this.options.maxDelay, this.options.baseDelay * 2 ** Math.min(failures - 1, 30));
  }

  /** wait until every key may try again; reserve the next slot so parallel attempts queue up */
  async wait(keys: string[]): Promise<void> {
    for (;;) {
      const now = Date.now();
      const until = Math.max(0, ...keys.map((k) => this.entries.get(k)?.until ?? 0));
      if (until <= now) break;
      await new Promise((r) => setTimeout(r, until - now));
    }
    const now = Date.now();
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e && e.failures > 0) e.until = now + this.delayAfter(e.failures);
    }
  }

  /** record a failure of each key; returns the delay the next attempt waits (the largest of the keys) */
  fail(keys: string[]): { failures: number; delay: number } {
    let failures = 0;
    let delay = 0;
    for (const k of keys) {
      const e = this.entries.get(k) ?? { failures: 0, until: 0 };
      e.failures += 1;
      e.until = Date.now() + this.delayAfter(e.failures);
      this.entries.delete(k);
      this.entries.set(k, e);
      failures = Math.max(failures, e.failures);
      delay = Math.max(delay, this.delayAfter(e.failures));
    }
    // forget the oldest keys rather than grow without bound under a spray of user names
    while (this.entries.size > Throttle.MAX_KEYS) this.entries.delete(this.entries.keys().next().value as string);
    return { failures, delay };
  }

  succeed(keys: string[]): void {
    for (const k of keys) this.entries.delete(k);
  }

  isThrottled(key: string): boolean {
    return (this.entries.get(key)?.failures ?? 0) > 0;
  }
}

// ---------------------------------------------------------------------------------------------------

/** Marks work done for an OPEN-SCS server's Call service (see quietDecoderWarnings). */
export const serverCallScope = new AsyncLocalStorage<true>();

let quieted = false;

/** node-opcua writes five warnings with two stacks (40+ lines) for each structure it cannot decode. Inside an
    OPEN-SCS server call they are dropped: the server logs one line for the refused call. Every other warning is
    printed as node-opcua prints it (one line per message line, with the file and line it came from). */
export function quietDecoderWarnings(): void {
  if (quieted) return;
  quieted = true;
  const counts = new Map<string, number>();
  setWarningLogger(((context: { filename: string; callerline: number }, ...args: unknown[]) => {
    if (serverCallScope.getStore() && /^resolve_dynamic_extension_obje/.test(context.filename)) return;
    const key = `${context.filename}:${context.callerline}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n > 100) return;
    const head = `${new Date().toISOString().substring(11)}:${context.filename.padEnd(30).substring(0, 30)}:${String(context.callerline).padEnd(5)}`;
    const lines = util.format(...args).split("\n").slice(0, 25);
    lines.forEach((line, i) => console.log(i === 0 ? head : " ...".padEnd(51), line));
    if (n === 100) console.log(head, "This warning occurred more than 100 times, no more warning will be logged for this context");
  }) as never);
}

/** Run the server's Call service handler inside serverCallScope. */
export function scopeCalls(server: OPCUAServer): void {
  const raw = server as unknown as Record<string, unknown>;
  const original = raw._on_CallRequest as (...a: unknown[]) => unknown;
  if (typeof original !== "function") return;
  raw._on_CallRequest = function (this: unknown, ...a: unknown[]) {
    return serverCallScope.run(true, () => original.apply(this, a));
  };
}
