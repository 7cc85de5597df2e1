/* The OPEN-SCS OPC UA server, one concern per module:
   start.ts          createOpenScsServer: options, certificates, the node-opcua server, start and shutdown
   limits.ts         MaxSNRequestable and the other limits, advertised and enforced
   security.ts       message security modes and policies
   access.ts         roles and rights, the caller of a session, logins, the throttle of refusals
   address-space.ts  Objects/OPENSCSObjects: the managers, their properties, the SID classes
   args.ts           reading and checking a call's input arguments (CallError)
   methods.ts        the managers' methods bound to the OpenScsBackend
   status.ts         ReturnStatus for PSS refusals, Bad_ status for faults
   epcis-stream.ts   EPCISStream: the EPCIS document upload
   The server sees pools only through OpenScsBackend (../backend.ts). */
export { createOpenScsServer } from "./start";
export type { OpenScsServerOptions, OpenScsServer } from "./start";
export { ROLE_RIGHTS, ROLES, METHOD_RIGHT } from "./access";
export type { Role, Right, OpenScsUser } from "./access";
export { DEFAULT_LIMITS } from "./limits";
export type { OpenScsLimits } from "./limits";
export type { SecurityModeName, SecurityPolicyName } from "./security";
export { EVENT_OF_METHOD } from "./methods";
export { PSS_REFUSAL_CODES, refusalStatus, faultStatus } from "./status";
export type { Family } from "./status";
