/* pss-opcua-server serves the pools it exposes (and only those) to a plain node-opcua client, with the
   security of the core server; pss-pool in remote mode draws from it through the function nodes, with the
   server's limits, paging and specific error codes at the Catch node. */
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import {
  OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, UserTokenType, DataType, VariantArrayType,
  BrowseDirection, StatusCodes, resolveNodeId, AttributeIds,
} from "node-opcua";
import type { ClientSession, NodeId } from "node-opcua";
import { helper, allNodeModules, coreNodeModule, nextMessage } from "../helpers/red";
import { tmpDir } from "../helpers/tmp";
import { freePort } from "../helpers/net";
import { dbDigest } from "../helpers/digest";
import { connectOpenScs, clientCertificate, returnStatusValue } from "../../nodes/core/opcua";
import type { OpenScsServer } from "../../nodes/core/opcua";
import { acquireStore, releaseStore } from "../../nodes/common/stores";
import type { OpcUaServerNode } from "../../nodes/pss-opcua-server/pss-opcua-server";
import { provisionPool, runPki, userConfig, SID_CLASS } from "./opcua-fixtures";

const GTIN = "09506000134352";

function serverFlow(o: { dbFile: string; port: number; pkiFolder: string; maxRequest?: number; extra?: object[]; server?: object }): object[] {
  const { rows } = userConfig();
  return [
    { id: "t", type: "tab", label: "site" },
    { id: "pool", type: "pss-pool", mode: "local", dbFile: o.dbFile, poolId: "SITE", sidClass: SID_CLASS, criteria: [{ key: "GTIN", value: GTIN }], guardPolicy: "strict", lowThreshold: 0, maxRequest: o.maxRequest ?? 100 },
    { id: "hidden", type: "pss-pool", mode: "local", dbFile: o.dbFile, poolId: "HIDDEN", sidClass: SID_CLASS, criteria: [], guardPolicy: "strict", lowThreshold: 0, maxRequest: 100 },
    {
      id: "srv", z: "t", type: "pss-opcua-server", name: "", port: o.port, host: "127.0.0.1", pools: ["pool"], accounts: rows, pkiFolder: o.pkiFolder,
      modes: ["SignAndEncrypt"], policies: ["Basic256Sha256", "Aes128_Sha256_RsaOaep"], allowAnonymous: false, anonymousRole: "admin", autoAcceptUnknownCertificates: false,
      maxSNRequestable: "", maxSNReturnable: "", maxSNPushable: "10", maxEvents: "", maxAggregationEvents: "", wires: [],
      ...(o.server ?? {}),
    },
    ...(o.extra ?? []),
  ];
}

async function started(): Promise<OpenScsServer> {
  const s = await (helper.getNode("srv") as unknown as OpcUaServerNode).started;
  if (!s) throw new Error("the server node did not start");
  return s;
}

/** A node-opcua client with nothing of ours: its own certificate manager, browsing by name, raw Variants. */
async function plainSession(endpointUrl: string, clientPki: string, serverCert: Buffer, user: { userName: string; password: string }): Promise<{ client: OPCUAClient; session: ClientSession; cm: OPCUACertificateManager }> {
  const cm = new OPCUACertificateManager({ rootFolder: path.join(clientPki, "client"), automaticallyAcceptUnknownCertificate: false });
  await cm.initialize();
  await cm.trustCertificate(serverCert);
  const client = OPCUAClient.create({
    applicationName: "plain node-opcua client", applicationUri: "urn:serialflow:openscs-client", clientCertificateManager: cm,
    securityMode: MessageSecurityMode.SignAndEncrypt, securityPolicy: SecurityPolicy.Basic256Sha256, endpointMustExist: false,
    connectionStrategy: { maxRetry: 0 },
  });
  await client.connect(endpointUrl);
  try {
    const session = await client.createSession({ type: UserTokenType.UserName, ...user });
    return { client, session, cm };
  } catch (err) {
    await client.disconnect();
    await cm.dispose();
    throw err;
  }
}

async function child(session: ClientSession, nodeId: NodeId | string, name: string): Promise<NodeId> {
  const r = await session.browse({ nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: "HierarchicalReferences", includeSubtypes: true, resultMask: 63 });
  const hit = r.references?.find((x) => x.browseName.name === name);
  if (!hit) throw new Error(`${name} not found under ${nodeId.toString()}`);
  return hit.nodeId;
}

describe("pss-opcua-server node", function () {
  let tmp: ReturnType<typeof tmpDir>;
  let dbFile: string;
  let port: number;
  let serverPki: string;
  let clientPki: string;
  let clientDer: Buffer;

  before(async function () {
    tmp = tmpDir("serialflow-opcua-node-");
    dbFile = path.join(tmp.dir, "site.db");
    provisionPool(dbFile, "SITE", 1000, { maxRequest: 100, criteria: { GTIN } });
    provisionPool(dbFile, "HIDDEN", 20);
    serverPki = await runPki("node-server-pki", "server");
    clientPki = await runPki("node-client-pki", "client");
    clientDer = await clientCertificate(clientPki);
    // trusted explicitly, as an operator does: the client's certificate in the server's trusted folder
    fs.mkdirSync(path.join(serverPki, "server", "trusted", "certs"), { recursive: true });
    fs.writeFileSync(path.join(serverPki, "server", "trusted", "certs", "line-client.der"), clientDer);
    port = await freePort();
    await helper.startServer();
  });

  afterEach(async function () {
    await helper.unload();
  });

  after(async function () {
    await helper.stopServer();
    tmp.cleanup();
  });

  async function load(extra: object[] = [], server: object = {}, credentials: Record<string, Record<string, string>> = {}) {
    await helper.load([...allNodeModules(), coreNodeModule("25-catch")] as any, serverFlow({ dbFile, port, pkiFolder: serverPki, extra, server }) as any, { srv: userConfig().credentials, ...credentials } as any);
    return started();
  }

  it("serves the exposed pool to a plain node-opcua client: limits, criteria, SNRequestAllocated with raw Variants", async function () {
    const server = await load();
    assert.equal(server.endpointUrl, `opc.tcp://127.0.0.1:${port}`);
    const statusCalls = (helper.getNode("srv") as any).status.args.map((a: any[]) => a[0]?.text);
    assert.ok(statusCalls.includes(server.endpointUrl), "the status shows the endpoint");
    const { client, session, cm } = await plainSession(server.endpointUrl, clientPki, server.certificate, { userName: "line", password: "line-pw" });
    try {
      const folder = await child(session, resolveNodeId("ObjectsFolder"), "OPENSCSObjects");
      const pm = await child(session, folder, "PoolManager");
      const max = await session.read({ nodeId: await child(session, pm, "MaxSNRequestable"), attributeId: AttributeIds.Value });
      assert.equal(max.value.value, 100, "MaxSNRequestable is the exposed pool's page");
      const crit = await session.read({ nodeId: await child(session, pm, "PoolSelectionCriteria"), attributeId: AttributeIds.Value });
      const kvs = (crit.value.value as Array<{ key: string; value: string }>).map((kv) => `${kv.key}=${kv.value}`);
      assert.ok(kvs.includes("PoolID=SITE") && kvs.includes(`GTIN=${GTIN}`), `criteria of SITE published: ${kvs.join(", ")}`);
      assert.ok(!kvs.includes("PoolID=HIDDEN"), "a pool of the same file that is not exposed stays unpublished");

      const r = await session.call({
        objectId: pm,
        methodId: await child(session, pm, "SNRequestAllocated"),
        inputArguments: [
          { dataType: DataType.String, value: "" },
          { dataType: DataType.UInt32, value: 30 },
          { dataType: DataType.String, value: "SERIALONLY" },
          { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] },
          { dataType: DataType.String, value: "" },
        ],
      });
      assert.equal(r.statusCode.value, StatusCodes.Good.value);
      assert.equal(r.outputArguments![0].value, returnStatusValue("NoError"));
      const serials = (r.outputArguments![1].value as { serialNumbers: string[] }).serialNumbers;
      assert.equal(serials.length, 30);
      assert.equal(new Set(serials).size, 30);
      const store = acquireStore(dbFile);
      try {
        assert.ok(serials.every((sn) => store.getSerialNumber(sn)?.state === "Allocated" && store.getSerialNumber(sn)?.poolId === "SITE"));
      } finally {
        releaseStore(dbFile);
      }
    } finally {
      await session.close();
      await client.disconnect();
      await cm.dispose();
    }
  });

  it("refuses anonymous sessions (off by default) and a wrong password; a reader's push gets InsufficientPrivilegeToExecute, store unchanged", async function () {
    const server = await load();
    const base = { endpointUrl: server.endpointUrl, pkiFolder: clientPki, trustServerCertificate: server.certificate, maxRetry: 0 };
    await assert.rejects(connectOpenScs(base), /ANONYMOUS|BadIdentityTokenInvalid|BadUserAccessDenied|anonymous/i);
    await assert.rejects(connectOpenScs({ ...base, user: "line", password: "wrong" }), /BadUserAccessDenied|BadIdentityTokenRejected/);
    await assert.rejects(plainSession(server.endpointUrl, clientPki, server.certificate, { userName: "admin", password: "nope" }), /BadUserAccessDenied|BadIdentityTokenRejected/);
    const before = dbDigest(dbFile);
    const reader = await connectOpenScs({ ...base, user: "reader", password: "reader-pw" });
    try {
      assert.equal((await reader.snTo("Encoded", { snCollection: { serialNumbers: ["R-PUSH-1"] } })).returnStatus, "InsufficientPrivilegeToExecute");
      assert.equal((await reader.snRequest("Allocated", { count: 1 })).returnStatus, "InsufficientPrivilegeToExecute");
    } finally {
      await reader.close();
    }
    assert.equal(dbDigest(dbFile), before, "the store is unchanged");
  });

  it("exposes only the chosen pools: another pool of the same file is refused by criteria and by serial number", async function () {
    const server = await load();
    const store = acquireStore(dbFile);
    try {
      const hiddenNumbers = store.request("Allocated", { poolSelectionCriteria: { PoolID: "HIDDEN" }, count: 3 }).snCollection.serialNumbers;
      const c = await connectOpenScs({ endpointUrl: server.endpointUrl, pkiFolder: clientPki, trustServerCertificate: server.certificate, maxRetry: 0, user: "admin", password: "admin-pw" });
      try {
        assert.equal((await c.snRequest("Allocated", { count: 1, poolSelectionCriteria: { PoolID: "HIDDEN" } })).returnStatus, "InvalidSelectionCriteria");
        assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { serialNumbers: hiddenNumbers } })).returnStatus, "UnableToAcceptLabelEvents");
        assert.ok(hiddenNumbers.every((sn) => store.getSerialNumber(sn)?.state === "Allocated"), "HIDDEN numbers untouched");
        const mine = (await c.snRequest("Allocated", { count: 3, poolSelectionCriteria: { GTIN } })).snCollection.serialNumbers;
        assert.equal(mine.length, 3);
        assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { serialNumbers: mine } })).returnStatus, "NoError");
        assert.ok(mine.every((sn) => store.getSerialNumber(sn)?.state === "Encoded"));
      } finally {
        await c.close();
      }
    } finally {
      releaseStore(dbFile);
    }
  });

  it("aggregates and takes EPCIS documents through the node: packed in the pool file, documents kept and applied there, hidden pools refused", async function () {
    const server = await load();
    const c = await connectOpenScs({ endpointUrl: server.endpointUrl, pkiFolder: clientPki, trustServerCertificate: server.certificate, maxRetry: 0, user: "admin", password: "admin-pw" });
    const store = acquireStore(dbFile);
    try {
      const sns = (await c.snRequest("Allocated", { count: 4, poolSelectionCriteria: { GTIN } })).snCollection.serialNumbers;
      assert.equal((await c.event("LabelsEncodingEvent", { labelCollection: { serialNumbers: sns } })).returnStatus, "NoError");
      assert.equal((await c.event("SIDCommissioningEvent", { labelCollection: { serialNumbers: sns } })).returnStatus, "NoError");
      const [parent, ...children] = sns;
      // a number of a pool the node does not expose cannot be packed through it
      const hidden = store.request("Allocated", { poolSelectionCriteria: { PoolID: "HIDDEN" }, count: 1 }).snCollection.serialNumbers;
      store.applyEvent("sn_encoding", { serialNumbers: hidden, poolId: "HIDDEN" });
      store.applyEvent("commissioning", { serialNumbers: hidden, poolId: "HIDDEN" });
      const before = dbDigest(dbFile);
      assert.notEqual((await c.aggregation("packing", { elements: [{ parent, children: { serialNumbers: [...children, ...hidden] } }] })).returnStatus, "NoError");
      assert.equal(dbDigest(dbFile), before, "a refused packing leaves the pool file as it was");
      assert.equal((await c.aggregation("packing", { elements: [{ parent, children: { id: "case-1", serialNumbers: children } }] })).returnStatus, "NoError");
      const audit = [...store.auditRecords({})];
      assert.ok(audit.some((r) => r.event === "packing" && JSON.stringify(r).includes(parent)), "the packing is audited in the pool file");

      // EPCISStream: acknowledged means kept in the pool file and applied to the exposed pool
      const sgtin = (sn: string) => `urn:epc:id:sgtin:9506000.013435.${sn}`;
      const doc = Buffer.from(JSON.stringify({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], type: "EPCISDocument", schemaVersion: "2.0", creationDate: "2026-01-05T08:00:00.000Z",
        epcisBody: { eventList: [{ type: "ObjectEvent", eventTime: "2026-01-05T08:00:00.000Z", eventTimeZoneOffset: "+00:00", epcList: [sgtin("NODE-EPCIS-1")], action: "ADD", bizStep: "commissioning", disposition: "active" }] },
      }));
      await c.uploadEpcis(doc);
      assert.equal(store.getSerialNumber("NODE-EPCIS-1")?.state, "Commissioned");
      assert.equal(store.getSerialNumber("NODE-EPCIS-1")?.poolId, "SITE");
      const inbox = store.db.prepare("SELECT document FROM epcis_inbox").all() as Array<{ document: Buffer }>;
      assert.equal(inbox.length, 1, "the acknowledged document is kept in the pool file");
      assert.ok(inbox[0].document.equals(doc));
      const digest = dbDigest(dbFile);
      await assert.rejects(c.uploadEpcis(doc, { context: { PoolID: "HIDDEN" } }), /Bad/);
      assert.equal(dbDigest(dbFile), digest, "a document for a hidden pool changes nothing");
    } finally {
      releaseStore(dbFile);
      await c.close();
    }
  });

  it("takes its session limits from the node (empty: 100 sessions, 300 s, 150 connections, 10 s) and refuses a bad one with a red status", async function () {
    const defaults = await load();
    assert.deepEqual(defaults.sessionLimits, { maxSessions: 100, maxSessionTimeout: 300_000, maxConnections: 150, handshakeTimeout: 10_000 });
    await helper.unload();
    const server = await load([], { maxSessions: "3", maxSessionTimeout: "30", maxConnections: "20", handshakeTimeout: "5" });
    assert.deepEqual(server.sessionLimits, { maxSessions: 3, maxSessionTimeout: 30_000, maxConnections: 20, handshakeTimeout: 5_000 });
    assert.equal(server.raw.engine.serverCapabilities.maxSessions, 3);
    assert.equal(server.raw.maxConnectionsPerEndpoint, 20);
    const { client, session, cm } = await plainSession(server.endpointUrl, clientPki, server.certificate, { userName: "line", password: "line-pw" });
    try {
      (client as unknown as { requestedSessionTimeout: number }).requestedSessionTimeout = 3_600_000;
      const second = await client.createSession({ type: UserTokenType.UserName, userName: "line", password: "line-pw" });
      assert.ok((second as unknown as { timeout: number }).timeout <= 30_000, "the session timeout is capped");
      await client.createSession({ type: UserTokenType.UserName, userName: "line", password: "line-pw" });
      await assert.rejects(client.createSession({ type: UserTokenType.UserName, userName: "line", password: "line-pw" }), /TooManySessions/);
      assert.ok(session.sessionId);
    } finally {
      await client.disconnect();
      await cm.dispose();
    }
    await helper.unload();
    await helper.load(allNodeModules() as any, serverFlow({ dbFile, port, pkiFolder: serverPki, server: { maxSessions: "many" } }) as any, { srv: userConfig().credentials } as any);
    assert.equal(await (helper.getNode("srv") as unknown as OpcUaServerNode).started, undefined);
    const errors = (helper.getNode("srv") as any).error.args.map((a: any[]) => String(a[0]));
    assert.ok(errors.some((e: string) => /Sessions must be a whole number of at least 1, not "many"/.test(e)), errors.join(" | "));
  });

  it("reports a configuration it cannot serve (a remote pool exposed, a user without password) with a red status, no listener", async function () {
    await helper.load(allNodeModules() as any, [
      { id: "t", type: "tab" },
      { id: "rp", type: "pss-pool", mode: "remote", endpointUrl: "opc.tcp://127.0.0.1:1", poolId: "X", pkiFolder: clientPki, criteria: [] },
      { id: "srv", z: "t", type: "pss-opcua-server", port, host: "127.0.0.1", pools: ["rp"], accounts: [{ name: "u", roles: ["admin"], slot: 0 }], pkiFolder: serverPki, wires: [] },
    ] as any, { srv: { password0: "pw" } } as any);
    assert.equal(await (helper.getNode("srv") as unknown as OpcUaServerNode).started, undefined);
    const errors = (helper.getNode("srv") as any).error.args.map((a: any[]) => String(a[0]));
    assert.ok(errors.some((e: string) => /remote: only local pools can be exposed/.test(e)), errors.join(" | "));
    await helper.unload();
    await helper.load(allNodeModules() as any, serverFlow({ dbFile, port, pkiFolder: serverPki }) as any, { srv: { password0: "admin-pw" } } as any);
    assert.equal(await (helper.getNode("srv") as unknown as OpcUaServerNode).started, undefined);
    const errors2 = (helper.getNode("srv") as any).error.args.map((a: any[]) => String(a[0]));
    assert.ok(errors2.some((e: string) => /user line has no password/.test(e)), errors2.join(" | "));
  });

  describe("pss-pool in remote mode against it", function () {
    let certFile: string;
    let downPort: number;
    let strangerPki: string;

    before(async function () {
      downPort = await freePort();
      // a client whose certificate nobody trusted
      strangerPki = await runPki("node-stranger-pki", "client");
      const server = await load();
      certFile = path.join(tmp.dir, "site-server.der");
      fs.writeFileSync(certFile, server.certificate);
      await helper.unload();
    });

    const remotePool = (id: string, user: string) => ({
      id, type: "pss-pool", mode: "remote", endpointUrl: `opc.tcp://127.0.0.1:${port}`, poolId: "SITE", criteria: [], securityMode: "SignAndEncrypt",
      securityPolicy: "Aes128_Sha256_RsaOaep", pkiFolder: clientPki, serverCertificate: certFile, autoAcceptServerCertificate: false, maxRequest: 10000, user,
    });
    const fnNode = (id: string, type: string, pool: string, extra: object = {}) => ({ id, z: "t", type, name: "", pool, count: "", snFormat: "SERIALONLY", snCollectionId: "", context: "", wires: [["out"]], ...extra });
    const remoteFlow = () => [
      remotePool("rLine", "line"), remotePool("rReader", "reader"), remotePool("rAdmin", "admin"), remotePool("rWrong", "line"),
      { ...remotePool("rDown", "line"), endpointUrl: `opc.tcp://127.0.0.1:${downPort}` },
      fnNode("reqDown", "pss-sn-request-allocated", "rDown"),
      { ...remotePool("rStranger", "line"), pkiFolder: strangerPki },
      fnNode("reqStranger", "pss-sn-request-allocated", "rStranger"),
      fnNode("reqLine", "pss-sn-request-allocated", "rLine"),
      fnNode("reqUnLine", "pss-sn-request-unallocated", "rLine"),
      fnNode("retAlLine", "pss-sn-return-allocated", "rLine"),
      fnNode("retUnLine", "pss-sn-return-unallocated", "rLine"),
      fnNode("pushReader", "pss-sn-to-encoded", "rReader"),
      fnNode("pushAdmin", "pss-sn-to-unallocated", "rAdmin"),
      fnNode("reqWrong", "pss-sn-request-allocated", "rWrong"),
      { id: "guard", z: "t", type: "pss-state-guard", pool: "rLine", event: "commissioning", wires: [["out"], ["out"]] },
      { id: "admin", z: "t", type: "pss-pool-admin", pool: "rAdmin", action: "generate", count: 10, wires: [["out"], []] },
      { id: "out", z: "t", type: "helper" },
      { id: "catcher", z: "t", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "t", type: "helper" },
    ];
    const creds = {
      rLine: { user: "line", password: "line-pw" }, rReader: { user: "reader", password: "reader-pw" },
      rAdmin: { user: "admin", password: "admin-pw" }, rWrong: { user: "line", password: "not-it" }, rDown: { user: "line", password: "line-pw" }, rStranger: { user: "line", password: "line-pw" },
    };

    it("draws numbers through a function node in pages of the server's MaxSNRequestable, none twice", async function () {
      await load(remoteFlow(), {}, creds);
      const got = nextMessage("out", 60000);
      helper.getNode("reqLine").receive({ payload: { count: 250 } });
      const msg = await got;
      const serials: string[] = msg.payload.snCollection.serialNumbers;
      assert.equal(msg.payload.returnStatus, "NoError");
      assert.equal(serials.length, 250, "250 numbers over 3 pages of at most 100");
      assert.equal(new Set(serials).size, 250);
      const store = acquireStore(dbFile);
      try {
        assert.ok(serials.every((sn) => store.getSerialNumber(sn)?.state === "Allocated"));
      } finally {
        releaseStore(dbFile);
      }
    });

    it("pss-sn-return-allocated and pss-sn-return-unallocated over a remote pool: SNReturn* give the numbers back to the server's pool", async function () {
      await load(remoteFlow(), {}, creds);
      const call = async (id: string, payload: unknown) => {
        const got = nextMessage("out", 60000);
        helper.getNode(id).receive({ payload });
        return got;
      };
      const al = (await call("reqLine", { count: 3 })).payload.snCollection;
      const un = (await call("reqUnLine", { count: 2 })).payload.snCollection;
      assert.equal((await call("retAlLine", { snCollection: { id: al.id, serialNumbers: al.serialNumbers } })).payload.returnStatus, "NoError");
      assert.equal((await call("retUnLine", { snCollection: { id: un.id, serialNumbers: un.serialNumbers } })).payload.returnStatus, "NoError");
      const store = acquireStore(dbFile);
      try {
        assert.deepEqual(al.serialNumbers.map((sn: string) => store.getSerialNumber(sn)?.state), ["Unallocated", "Unallocated", "Unallocated"]);
        assert.deepEqual(un.serialNumbers.map((sn: string) => store.getSerialNumber(sn)?.state), ["Unassigned", "Unassigned"]);
        const methods = [...store.auditRecords({})].filter((r) => r.method?.startsWith("SNReturn")).map((r) => [r.method, r.event, r.fromState, r.toState]);
        assert.deepEqual(methods, [["SNReturnAllocated", "sn_deallocating", "Allocated", "Unallocated"], ["SNReturnUnallocated", "sn_returning", "Unallocated", "Unassigned"]]);
      } finally {
        releaseStore(dbFile);
      }
    });

    it("splits a push to the server's MaxSNPushable (10): 25 new numbers arrive Unallocated", async function () {
      await load(remoteFlow(), {}, creds);
      const pushed = Array.from({ length: 25 }, (_, i) => `PUSHED${String(i).padStart(4, "0")}`);
      const got = nextMessage("out", 60000);
      helper.getNode("pushAdmin").receive({ payload: { snCollection: { id: "", serialNumbers: pushed } } });
      assert.equal((await got).payload.returnStatus, "NoError");
      const store = acquireStore(dbFile);
      try {
        assert.ok(pushed.every((sn) => store.getSerialNumber(sn)?.state === "Unallocated"));
      } finally {
        releaseStore(dbFile);
      }
    });

    it("reconnects: after the server node is redeployed alone, the same remote pool serves the next message", async function () {
      await load(remoteFlow(), {}, creds);
      const ask = async () => {
        const got = nextMessage("out", 60000);
        const failed = nextMessage("caught", 60000).then((m) => {
          throw new Error(`request failed: ${m.error?.code} ${m.error?.message}`);
        });
        failed.catch(() => undefined);
        helper.getNode("reqLine").receive({ payload: { count: 5 } });
        return (await Promise.race([got, failed])).payload.snCollection.serialNumbers as string[];
      };
      const first = await ask();
      const remoteBefore = helper.getNode("rLine");
      const changed = serverFlow({ dbFile, port, pkiFolder: serverPki, extra: remoteFlow(), server: { name: "restarted" } });
      await helper.setFlows(changed as any, "nodes", { srv: userConfig().credentials, ...creds } as any);
      assert.equal(helper.getNode("rLine"), remoteBefore, "only the server node was redeployed: the remote pool kept its session");
      await started();
      const second = await ask();
      assert.equal(second.length, 5);
      assert.equal(new Set([...first, ...second]).size, 10);
    });

    it("gives the Catch node specific codes: InsufficientPrivilegeToExecute, RemoteAccessDenied, RemoteUnavailable, RemoteCertificateRejected, NotSupportedByRemotePool", async function () {
      await load(remoteFlow(), {}, creds);
      const before = dbDigest(dbFile);
      const expect = async (id: string, payload: unknown, code: RegExp) => {
        const caught = nextMessage("caught", 60000);
        helper.getNode(id).receive({ payload, keep: id });
        const m = await caught;
        assert.match(String(m.error.code), code, `${id}: ${m.error.message}`);
        assert.equal(m.keep, id, "the original message travels with the error");
      };
      await expect("pushReader", { serialNumbers: ["R-ENC-1"] }, /^InsufficientPrivilegeToExecute$/);
      await expect("reqWrong", { count: 1 }, /^RemoteAccessDenied$/);
      await expect("reqDown", { count: 1 }, /^RemoteUnavailable$/);
      await expect("reqStranger", { count: 1 }, /^RemoteCertificateRejected$/);
      await expect("guard", { serialNumbers: ["X1"] }, /^NotSupportedByRemotePool$/);
      await expect("admin", {}, /^NotSupportedByRemotePool$/);
      assert.equal(dbDigest(dbFile), before, "no refused call changed the store");
    });
  });
});
