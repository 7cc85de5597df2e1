/* The few Node-RED runtime types the nodes use, taken from @types/node-red. */
import type { NodeAPI, Node, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";

export type { NodeAPI, Node, NodeDef, NodeMessage, NodeMessageInFlow };

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFn = (err?: Error) => void;

export interface StatusLike {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}
