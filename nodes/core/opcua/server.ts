/* The OPEN-SCS OPC UA server: see server/index.ts for its modules. This file keeps the import path
   "core/opcua/server" of earlier versions. */
export * from "./server/index";
