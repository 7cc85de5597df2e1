/* A guard for node-opcua servers against connections that arrive while the server stops. */
import type { OPCUAServer } from "node-opcua";

/** node-opcua 2.18x accepts a TCP connection, then sets the channel up on the next tick; when the endpoint stopped
    in between (a shutdown, a redeploy) it throws "OPCUAServerEndPoint must be started" from setImmediate, which
    ends the process. A connection that arrives during shutdown is refused instead. Both servers need it: the
    OPEN-SCS server (server/start.ts) and the simulated PLC's (core/sim/plc.ts), whose node-opcua is loaded lazily, hence
    a module that imports node-opcua's types only. */
export function guardLateConnections(server: OPCUAServer): void {
  for (const ep of server.endpoints as unknown as Array<{ _started: boolean; _prevent_DDOS_Attack?: (establish: () => void, deny: () => void) => void }>) {
    const original = ep._prevent_DDOS_Attack;
    if (typeof original !== "function") continue;
    ep._prevent_DDOS_Attack = function (establish: () => void, deny: () => void) {
      original.call(this, () => (ep._started ? establish() : deny()), deny);
    };
  }
}
