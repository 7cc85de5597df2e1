/* OPEN-SCS over OPC UA (OPC 30260): our model, the server, the client and the structure codecs. */
export * from "./model";
export { generateNodeSet2 } from "./nodeset";
export * from "./codecs";
export * from "./backend";
export * from "./server";
export { DEFAULT_SESSION_LIMITS, DEFAULT_THROTTLE, sessionLimits } from "./guard";
export type { OpenScsSessionLimits, ThrottleOptions } from "./guard";
export * from "./client";
export * from "./remote";
