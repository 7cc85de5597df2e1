/* PoolBackend over a pool on another OPEN-SCS server (remote mode of pss-pool): every call is one or more
   OPC UA method calls through RemotePool, split to the server's Max* limits, paged by request token. The
   function nodes see the same PoolBackend as for a local file; errors carry specific codes. */
import { RemotePool, RemotePoolError, OpenScsCallError } from "../core/opcua";
import type { ConnectOptions, EventName } from "../core/opcua";
import type {
  AggregationArgs, CollectionArgs, EventArgs, GuardResult, PoolBackend, PoolStatus, PushTarget, RequestArgs,
  RequestResult, RequestTarget, ReturnTarget,
} from "./pool-backend";
import type { Dict } from "./args";
import { poolFunctionFor } from "../core/lifecycle";

/** An error of the remote pool, with the code a Catch node branches on. */
export class RemotePoolBackendError extends Error {
  readonly code: string;
  constructor(code: string, message: string, readonly statusCode?: string) {
    super(message);
    this.name = "RemotePoolBackendError";
    this.code = code;
  }
}

export interface RemoteBackendOptions extends ConnectOptions {
  /** criteria that select the remote pool when a message gives none */
  poolSelectionCriteria: Dict;
  /** what the pool is called in messages and errors */
  label: string;
  /** the page size assumed until the server's MaxSNRequestable is read */
  fallbackPage?: number;
}

/** The code and message for anything a remote call threw: ReturnStatus names stay as they are, OPC UA
    status codes become their name (BadOutOfRange, BadUserAccessDenied, ...), a lost server RemoteUnavailable. */
export function remoteError(err: unknown, what: string): Error & { code: string } {
  if (err instanceof RemotePoolBackendError) return err;
  if (err instanceof RemotePoolError) return new RemotePoolBackendError(err.code, `${what}: ${err.message}`);
  if (err instanceof OpenScsCallError) {
    const status = /^Bad[A-Za-z]+/.exec(err.statusCode)?.[0] ?? "BadUnexpectedError";
    return new RemotePoolBackendError(status === "BadUserAccessDenied" ? "RemoteAccessDenied" : status, `${what}: ${err.message}`, err.statusCode);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/BadUserAccessDenied|BadIdentityToken/i.test(message)) return new RemotePoolBackendError("RemoteAccessDenied", `${what}: the server refused the user name or password (${message})`);
  if (/BadSecurityChecksFailed|BadCertificate[A-Za-z]*|certificate (?:is )?(?:rejected|untrusted|not trusted|invalid)/i.test(message)) return new RemotePoolBackendError("RemoteCertificateRejected", `${what}: the secure channel was refused; trust the certificates on both sides (${message})`);
  return new RemotePoolBackendError("RemoteUnavailable", `${what}: the OPEN-SCS server cannot be reached (${message})`);
}

export class RemotePoolBackend implements PoolBackend {
  private pool: RemotePool | undefined;
  private connecting: Promise<RemotePool> | undefined;
  private closed = false;

  constructor(private readonly options: RemoteBackendOptions) {}

  /** MaxSNRequestable of the server once connected */
  get maxPage(): number {
    return this.pool?.maxPage || this.options.fallbackPage || 10_000;
  }

  /** true once a session is open */
  get connected(): boolean {
    return this.pool !== undefined;
  }

  /** Open the session (once; a failed attempt is retried by the next call). */
  connect(): Promise<RemotePool> {
    if (this.closed) return Promise.reject(new RemotePoolBackendError("PoolUnavailable", `pool ${this.options.label} is closed`));
    if (this.pool) return Promise.resolve(this.pool);
    this.connecting ??= RemotePool.connect(this.options).then(
      async (p) => {
        this.connecting = undefined;
        // closed while connecting (a redeploy): do not keep the session
        if (this.closed) {
          await p.close().catch(() => undefined);
          throw new RemotePoolBackendError("PoolUnavailable", `pool ${this.options.label} is closed`);
        }
        this.pool = p;
        return p;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw remoteError(err, `remote pool ${this.options.label} at ${this.options.endpointUrl}`);
      },
    );
    return this.connecting;
  }

  private async run<T>(what: string, call: (p: RemotePool) => Promise<T>): Promise<T> {
    const p = await this.connect();
    try {
      return await call(p);
    } catch (err) {
      const e = remoteError(err, `${what} on remote pool ${this.options.label}`);
      // the session is gone for good (node-opcua gave up reconnecting): the next call opens a new one
      if (e.code === "RemoteUnavailable" || /Session|SecureChannel|Connection|NotConnected/.test((e as RemotePoolBackendError).statusCode ?? "")) {
        if (this.pool === p) this.pool = undefined;
        await p.close().catch(() => undefined);
      }
      throw e;
    }
  }

  request(target: RequestTarget, a: RequestArgs, _actor: string): Promise<RequestResult> {
    return this.run(poolFunctionFor("request", target)?.method ?? `request ${target}`, async (p) => {
      const r = await p.request(target, {
        count: a.count, snCollectionId: a.snCollectionId, snFormat: a.snFormat, poolSelectionCriteria: a.poolSelectionCriteria, requestToken: a.requestToken,
      });
      return { returnStatus: r.returnStatus, snCollection: { ...r.snCollection }, returnedRequestToken: r.returnedRequestToken };
    });
  }

  returnSerialNumbers(target: ReturnTarget, a: CollectionArgs, _actor: string): Promise<{ returnStatus: string }> {
    return this.run(poolFunctionFor("return", target)?.method ?? `return ${target}`, (p) => p.returnSerialNumbers(target, { snCollection: a.snCollection, poolSelectionCriteria: a.poolSelectionCriteria, snFormat: a.snFormat }));
  }

  pushTo(target: PushTarget, a: CollectionArgs, _actor: string): Promise<{ returnStatus: string }> {
    return this.run(poolFunctionFor("push", target)?.method ?? `push ${target}`, (p) => p.pushTo(target, { snCollection: a.snCollection, poolSelectionCriteria: a.poolSelectionCriteria, snFormat: a.snFormat }));
  }

  applyEvent(event: string, a: EventArgs, _actor: string): Promise<{ returnStatus: string; applied: number; anomalies: number }> {
    return this.run(event, (p) => p.applyEvent(event as EventName, { serialNumbers: a.serialNumbers, snFormat: a.snFormat, labelCollection: a.labelCollection, context: a.context }));
  }

  aggregate(event: "packing" | "unpacking", a: AggregationArgs, _actor: string): Promise<{ returnStatus: string }> {
    return this.run(event, (p) => p.aggregate(event, a));
  }

  private unsupported(what: string): Promise<never> {
    return Promise.reject(new RemotePoolBackendError(
      "NotSupportedByRemotePool",
      `${what} is not available for remote pool ${this.options.label}: OPC 30260 offers no method for it; do it on the server that holds the pool`,
    ));
  }

  checkEvent(_event: string, _serialNumbers: string[]): Promise<GuardResult> {
    return this.unsupported("the state guard check (pss-state-guard)");
  }

  status(): Promise<PoolStatus> {
    return this.unsupported("pool status (counts by state)");
  }

  generate(_count: number, _actor: string): Promise<{ added: number }> {
    return this.unsupported("generating serial numbers (pss-pool-admin)");
  }

  importText(_text: string, _actor: string): Promise<{ added: number }> {
    return this.unsupported("importing serial numbers (pss-pool-admin)");
  }

  /** Close the session; a call made afterwards fails with PoolUnavailable. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.close().catch(() => undefined);
    if (pending) await pending.catch(() => undefined);
  }
}
