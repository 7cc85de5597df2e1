/* Shared set-up of the OPC UA tests: one PKI per test run (certificate generation is slow), a real pool store
   in a temp folder, a server on an ephemeral loopback port, and clients that trust it explicitly. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openPoolStore, SqlitePoolStore } from "../../nodes/core/store";
import {
  createOpenScsServer, connectOpenScs, clientCertificate, OpenScsServer, OpenScsServerOptions, OpenScsClient,
} from "../../nodes/core/opcua";
import { tmpDir } from "../helpers/tmp";

export type TestStore = SqlitePoolStore;

/** The SID class the test pools use. */
export const TEST_SID_CLASS = "GS1-SGTIN";

/** Open a real pool store in a test's temp folder. */
export function openStore(file: string): TestStore {
  return openPoolStore(file, { actor: "test" });
}

let pki: Promise<{ folder: string; clientCert: Buffer }> | null = null;

/** One PKI folder for the whole run: the server certificate, the client certificate, the trust lists. */
export function sharedPki(): Promise<{ folder: string; clientCert: Buffer }> {
  pki ??= (async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "serialflow-pki-"));
    process.on("exit", () => fs.rmSync(folder, { recursive: true, force: true }));
    return { folder, clientCert: await clientCertificate(folder) };
  })();
  return pki;
}

export interface Rig {
  server: OpenScsServer;
  store: TestStore;
  file: string;
  pkiFolder: string;
  /** a client session as `user` (or anonymous), trusting the server explicitly */
  connect(user?: string, password?: string, extra?: { mode?: "None" | "Sign" | "SignAndEncrypt"; policy?: "Basic256Sha256" | "Aes128_Sha256_RsaOaep" }): Promise<OpenScsClient>;
  stop(): Promise<void>;
}

export const USERS = [
  { name: "admin", password: "admin-pw", roles: ["admin" as const] },
  { name: "line", password: "line-pw", roles: ["operator" as const] },
  { name: "reader", password: "reader-pw", roles: ["reader" as const] },
  { name: "supplier", password: "supplier-pw", roles: ["pusher" as const] },
];

/** A store with one default pool of `provision` numbers, and a server over it. */
export async function startRig(options: { provision?: number; pool?: Partial<Parameters<TestStore["createPool"]>[0]>; server?: Partial<OpenScsServerOptions> } = {}): Promise<Rig> {
  const tmp = tmpDir("serialflow-opcua-");
  const file = path.join(tmp.dir, "pool.db");
  const store = openStore(file);
  store.createPool({ poolId: "default", sidClass: TEST_SID_CLASS, selectionCriteria: { GTIN: "09506000134352" }, maxRequest: 10_000, isDefault: true, ...(options.pool ?? {}) });
  if (options.provision) store.provision("default", { generate: options.provision });
  const { folder, clientCert } = await sharedPki();
  // refusals are slowed far less than in production (0.5 s doubling to 10 s), so tests of refusals stay quick
  const server = await createOpenScsServer({ store, port: 0, pkiFolder: folder, users: USERS, log: () => undefined, throttle: { baseDelay: 50, maxDelay: 400 }, ...(options.server ?? {}) });
  await server.trustClientCertificate(clientCert);
  const clients: OpenScsClient[] = [];
  return {
    server,
    store,
    file,
    pkiFolder: folder,
    async connect(user, password, extra) {
      const c = await connectOpenScs({
        endpointUrl: server.endpointUrl, user, password, pkiFolder: folder, trustServerCertificate: server.certificate, maxRetry: 0,
        security: { mode: extra?.mode, policy: extra?.policy },
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.shutdown();
      store.close();
      tmp.cleanup();
    },
  };
}
