/* The SerialFlow core library: everything here works without Node-RED.
   require("@serialflow/node-red-openscs") gives these namespaces. */
export * as gs1 from "./gs1";
export * as sid from "./sid";
export * as lifecycle from "./lifecycle";
export * as store from "./store";
export * as aggregation from "./aggregation";
export * as opcua from "./opcua";
export * as epcis from "./epcis";
export * as label from "./label";
export * as sim from "./sim";
