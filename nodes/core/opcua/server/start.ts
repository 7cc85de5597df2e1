/* createOpenScsServer: node-opcua loading our generated model, the OPEN-SCS instances under Objects/OPENSCSObjects
   (address-space.ts), every method bound to an OpenScsBackend (methods.ts, epcis-stream.ts), access by role
   (access.ts). Business results go in ReturnStatus with call status Good; malformed calls get OPC UA status codes. */
import * as fs from "fs";
import * as path from "path";
import { OPCUAServer, OPCUACertificateManager, nodesets } from "node-opcua";
import type { AddressSpace, NodeId } from "node-opcua";
import { generateNodeSet2 } from "../nodeset";
import { NAMESPACE_URI } from "../model";
import { StoreBackend } from "../backend";
import type { OpenScsBackend, SidClassInfo, StoreLike } from "../backend";
import { sessionLimits, installSessionLimits, installHandshakeDeadline, DEFAULT_THROTTLE, quietDecoderWarnings, scopeCalls } from "../guard";
import type { OpenScsSessionLimits, ThrottleOptions } from "../guard";
import { AccessControl, checkUsers } from "./access";
import type { OpenScsUser, Role } from "./access";
import { resolveLimits } from "./limits";
import type { OpenScsLimits } from "./limits";
import { securitySettings } from "./security";
import type { SecurityModeName, SecurityPolicyName } from "./security";
import { addOpenScsObjects, sidClassesOf } from "./address-space";
import { bindOpenScsMethods } from "./methods";
import { installEpcisStream } from "./epcis-stream";
import { guardLateConnections } from "../late-connections";

export interface OpenScsServerOptions {
  /** the pool store (store contract); or give `backend` directly */
  store?: StoreLike;
  backend?: OpenScsBackend;
  /** TCP port; 0 picks a free one (read it back from server.port) */
  port?: number;
  /** the address to bind; loopback unless configured otherwise */
  host?: string;
  /** the PKI folder (own certificate, trusted and rejected peers); created when absent */
  pkiFolder: string;
  security?: { modes?: SecurityModeName[]; policies?: SecurityPolicyName[] };
  users?: OpenScsUser[];
  /** anonymous sessions (development only); they get `anonymousRoles` (default: every right) */
  allowAnonymous?: boolean;
  anonymousRoles?: Role[];
  /** development only: trust every client certificate presented (default false: trust explicitly) */
  autoAcceptUnknownCertificates?: boolean;
  limits?: Partial<OpenScsLimits>;
  /** the SNFormat values accepted; must include SERIALONLY */
  snFormats?: string[];
  /** the SID classes described under OPENSCSObjects; default: those of the store's pools, from the sid module */
  sidClasses?: SidClassInfo[];
  applicationUri?: string;
  productName?: string;
  /** sessions, session timeout, connections, handshake time (DEFAULT_SESSION_LIMITS) */
  sessionLimits?: Partial<OpenScsSessionLimits>;
  /** the delay after failed logins and refused calls, per user and per address (DEFAULT_THROTTLE) */
  throttle?: Partial<ThrottleOptions>;
  /** where warnings go (default console.warn) */
  log?: (message: string) => void;
}

export interface OpenScsServer {
  readonly endpointUrl: string;
  readonly port: number;
  /** the namespace index of http://opcfoundation.org/UA/OPENSCS-SER/ on this server */
  readonly namespaceIndex: number;
  /** NodeIds of the instances, for clients that do not browse */
  readonly nodes: { poolManager: NodeId; eventManager: NodeId; aggregationManager: NodeId; folder: NodeId; sidClasses: NodeId[] };
  readonly limits: OpenScsLimits;
  readonly sessionLimits: OpenScsSessionLimits;
  /** the server's application certificate (DER), for a client to trust explicitly */
  readonly certificate: Buffer;
  /** trust a client application certificate (DER) */
  trustClientCertificate(der: Buffer): Promise<void>;
  /** the underlying node-opcua server */
  readonly raw: OPCUAServer;
  /** stop accepting calls, close every session and the TCP port; resolves when the port is free */
  shutdown(): Promise<void>;
}

/** Start an OPEN-SCS server. Resolves once it listens; `await server.shutdown()` frees the port. */
export async function createOpenScsServer(options: OpenScsServerOptions): Promise<OpenScsServer> {
  const backend = options.backend ?? (options.store ? new StoreBackend(options.store) : undefined);
  if (!backend) throw new Error("createOpenScsServer needs a store or a backend");
  if (!options.pkiFolder) throw new Error("createOpenScsServer needs a pkiFolder (the server's certificates live there)");
  const log = options.log ?? ((m: string) => console.warn(m));
  const host = options.host ?? "127.0.0.1";
  const users = options.users ?? [];
  checkUsers(users);
  const snFormats = options.snFormats ?? ["SERIALONLY"];
  if (!snFormats.includes("SERIALONLY")) throw new Error("snFormats must include SERIALONLY (OPC 30260 requires it)");
  const described = backend.describe();
  const limits = resolveLimits(described.pools, options.limits);
  const { modes, policies } = securitySettings(options.security);

  fs.mkdirSync(options.pkiFolder, { recursive: true });
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: path.join(options.pkiFolder, "server"),
    automaticallyAcceptUnknownCertificate: options.autoAcceptUnknownCertificates === true,
  });
  const userCertificateManager = new OPCUACertificateManager({ rootFolder: path.join(options.pkiFolder, "user"), automaticallyAcceptUnknownCertificate: false });
  await serverCertificateManager.initialize();
  await userCertificateManager.initialize();

  const session = sessionLimits(options.sessionLimits);
  // failed logins and refused calls: logged, and answered later and later per user and per address
  const throttle: ThrottleOptions = { ...DEFAULT_THROTTLE, ...Object.fromEntries(Object.entries(options.throttle ?? {}).filter(([, v]) => typeof v === "number")) };
  const access = new AccessControl({ users, anonymousRoles: options.anonymousRoles ?? ["admin"], throttle, log });

  try {
    const server = new OPCUAServer({
      port: options.port ?? 4840,
      host,
      hostname: host,
      serverCapabilities: { maxSessions: session.maxSessions },
      maxConnectionsPerEndpoint: session.maxConnections,
      nodesets: [nodesets.standard, { name: "OPENSCS-SER (SerialFlow model)", source: generateNodeSet2() }],
      serverCertificateManager,
      userCertificateManager,
      securityModes: modes,
      securityPolicies: policies,
      allowAnonymous: options.allowAnonymous === true,
      userManager: {
        isValidUserAsync(this: { channel?: { remoteAddress?: string } }, userName: string, password: string, callback: (err: Error | null, ok?: boolean) => void) {
          access.checkLogin(userName, password, this?.channel?.remoteAddress || "unknown address").then((ok) => callback(null, ok), (err: Error) => callback(err));
        },
      },
      serverInfo: {
        applicationUri: options.applicationUri ?? "urn:serialflow:openscs-server",
        productUri: "urn:serialflow",
        applicationName: { text: options.productName ?? "SerialFlow OPEN-SCS server" },
      },
      buildInfo: { productName: options.productName ?? "SerialFlow OPEN-SCS server", manufacturerName: "SerialFlow" },
      registerServerMethod: 1, // hidden: never announce itself on the network
      isAuditing: false,
    });
    await server.initialize();
    installSessionLimits(server, session, log);
    quietDecoderWarnings();
    scopeCalls(server);

    const addressSpace = server.engine.addressSpace as AddressSpace;
    const nsIndex = addressSpace.getNamespaceIndex(NAMESPACE_URI);
    const objects = addOpenScsObjects({
      addressSpace, nsIndex, pools: described.pools, limits, snFormats,
      sidClasses: options.sidClasses ?? sidClassesOf(described.pools),
    });
    bindOpenScsMethods({ addressSpace, nsIndex, objects, backend, limits, snFormats, access, log });
    installEpcisStream({ addressSpace, eventManager: objects.eventManager, nsIndex, maxBytes: limits.maxEpcisBytes, backend, access, log });

    await server.start();
    guardLateConnections(server);
    installHandshakeDeadline(server, session.handshakeTimeout);
    const port = server.endpoints[0].port;
    const endpointUrl = `opc.tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const certificate = Buffer.from(server.getCertificate());
    let stopped: Promise<void> | null = null;

    return {
      endpointUrl,
      port,
      namespaceIndex: nsIndex,
      nodes: { poolManager: objects.poolManager.nodeId, eventManager: objects.eventManager.nodeId, aggregationManager: objects.aggregationManager.nodeId, folder: objects.folder.nodeId, sidClasses: objects.sidClasses },
      limits,
      sessionLimits: session,
      certificate,
      raw: server,
      trustClientCertificate: (der: Buffer) => serverCertificateManager.trustCertificate(der),
      shutdown(): Promise<void> {
        stopped ??= (async () => {
          await server.shutdown(0);
          await serverCertificateManager.dispose();
          await userCertificateManager.dispose();
        })();
        return stopped;
      },
    };
  } catch (err) {
    // a failed start (port in use, bad model) leaves no certificate watcher behind; node-opcua itself leaves no
    // listener when start() fails (checked: no active handle remains after EADDRINUSE)
    await serverCertificateManager.dispose().catch(() => undefined);
    await userCertificateManager.dispose().catch(() => undefined);
    throw err;
  }
}
