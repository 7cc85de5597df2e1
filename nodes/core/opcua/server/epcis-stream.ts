/* EPCISStream (TemporaryFileTransferType) of the event manager: GenerateFileForWrite opens an in-memory temporary
   file the client writes an EPCIS document into; CloseAndCommit hands it to the backend; GenerateFileForRead always
   fails. */
import { Variant, DataType, StatusCodes, NodeId } from "node-opcua";
import type { AddressSpace, CallMethodResultOptions, ISessionContext, UAObject, UAMethod } from "node-opcua";
import type { OpenScsBackend, Dict } from "../backend";
import { AccessControl, callerOf, addressOf } from "./access";
import { faultStatus } from "./status";

export interface EpcisStreamInput {
  addressSpace: AddressSpace;
  /** the event manager instance, whose EPCISStream component is bound */
  eventManager: UAObject;
  /** the namespace index of the OPEN-SCS model */
  nsIndex: number;
  /** the largest document accepted, in bytes (OpenScsLimits.maxEpcisBytes) */
  maxBytes: number;
  backend: OpenScsBackend;
  access: AccessControl;
  log: (message: string) => void;
}

/** A temporary file opened by GenerateFileForWrite, until CloseAndCommit. */
interface OpenFile {
  chunks: Buffer[];
  size: number;
  file: UAObject;
  options: Dict;
  user: string | null;
}

/** The options of GenerateFileForWrite (its GenerateOptions structure): the SN formats and eventContext.* */
function generateOptions(arg: Variant | undefined): Dict {
  const options: Dict = {};
  const g = arg?.value as Record<string, unknown> | null | undefined;
  if (g && typeof g === "object") {
    for (const k of ["snFormat", "parentSNFormat", "packedElementSNFormat"]) if (typeof g[k] === "string") options[k] = g[k] as string;
    for (const kv of (Array.isArray(g.eventContext) ? g.eventContext : []) as Array<{ key?: unknown; value?: unknown }>) {
      if (typeof kv?.key === "string" && typeof kv.value === "string") options[`context.${kv.key}`] = kv.value;
    }
  }
  return options;
}

/** Binds the methods of the event manager's EPCISStream. */
export function installEpcisStream(input: EpcisStreamInput): void {
  const { addressSpace, backend, access, log } = input;
  const stream = input.eventManager.getComponentByName("EPCISStream", input.nsIndex) as UAObject | null;
  if (!stream) throw new Error("EventManager has no EPCISStream");
  const fileType = addressSpace.findObjectType("FileType");
  if (!fileType) throw new Error("the standard nodeset has no FileType");
  const open = new Map<number, OpenFile>();
  let nextHandle = 1;
  const method = (name: string) => {
    const m = (stream.getMethodByName(name) ?? stream.getMethodByName(name, 0)) as UAMethod | null;
    if (!m) throw new Error(`EPCISStream has no ${name}`);
    return m;
  };
  /** the caller's right to the method, or false after the refusal's delay */
  const allowed = async (context: ISessionContext, name: string): Promise<boolean> => {
    const user = callerOf(context);
    if (access.may(user, name)) return true;
    await access.refusePrivilege(user, addressOf(context), name);
    return false;
  };

  method("GenerateFileForRead").bindMethod(async (_args: Variant[], _context: ISessionContext) => ({ statusCode: StatusCodes.BadNotReadable }));

  const generateFileForWrite = (args: Variant[], context: ISessionContext): CallMethodResultOptions => {
    if (args.length > 1) return { statusCode: StatusCodes.BadTooManyArguments };
    const options = generateOptions(args[0]);
    const handle = nextHandle++;
    const file = fileType.instantiate({ browseName: `EPCISFile${handle}`, componentOf: stream, nodeId: `s=EPCISStream.File${handle}` }) as UAObject;
    const entry: OpenFile = { chunks: [], size: 0, file, options, user: callerOf(context) };
    open.set(handle, entry);
    const fm = (name: string) => file.getMethodByName(name, 0) as UAMethod;
    fm("Write").bindMethod(async (wargs: Variant[], _c: ISessionContext): Promise<CallMethodResultOptions> => {
      if (wargs.length !== 2 || wargs[0].value !== handle || !open.has(handle)) return { statusCode: StatusCodes.BadInvalidArgument };
      const data = wargs[1].value as Buffer | null;
      if (wargs[1].dataType !== DataType.ByteString) return { statusCode: StatusCodes.BadInvalidArgument };
      if (data && data.length) {
        if (entry.size + data.length > input.maxBytes) return { statusCode: StatusCodes.BadOutOfRange };
        entry.chunks.push(Buffer.from(data));
        entry.size += data.length;
      }
      return { statusCode: StatusCodes.Good };
    });
    fm("Read").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadNotReadable }));
    fm("Open").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadInvalidState }));
    fm("Close").bindMethod(async (cargs: Variant[], _c: ISessionContext) => {
      if (cargs[0]?.value !== handle) return { statusCode: StatusCodes.BadInvalidArgument };
      return { statusCode: StatusCodes.Good };
    });
    fm("GetPosition").bindMethod(async (pargs: Variant[], _c: ISessionContext) => {
      if (pargs[0]?.value !== handle) return { statusCode: StatusCodes.BadInvalidArgument };
      return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.UInt64, value: [0, entry.size] })] };
    });
    fm("SetPosition").bindMethod(async (_a: Variant[], _c: ISessionContext) => ({ statusCode: StatusCodes.BadNotSupported }));
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [new Variant({ dataType: DataType.NodeId, value: file.nodeId }), new Variant({ dataType: DataType.UInt32, value: handle })],
    };
  };

  method("GenerateFileForWrite").bindMethod(async (args: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> => {
    if (!(await allowed(context, "GenerateFileForWrite"))) return { statusCode: StatusCodes.BadUserAccessDenied };
    try {
      return generateFileForWrite(args, context);
    } catch (err) {
      log(`OPEN-SCS EPCISStream.GenerateFileForWrite failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return { statusCode: StatusCodes.BadInternalError };
    }
  });

  method("CloseAndCommit").bindMethod(async (args: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> => {
    if (!(await allowed(context, "CloseAndCommit"))) return { statusCode: StatusCodes.BadUserAccessDenied };
    if (args.length !== 1 || args[0].dataType !== DataType.UInt32) return { statusCode: StatusCodes.BadInvalidArgument };
    const entry = open.get(args[0].value as number);
    if (!entry) return { statusCode: StatusCodes.BadInvalidArgument };
    open.delete(args[0].value as number);
    addressSpace.deleteNode(entry.file);
    const document = Buffer.concat(entry.chunks);
    if (document.length === 0) return { statusCode: StatusCodes.BadInvalidArgument };
    try {
      await backend.acceptEpcis(document, { options: entry.options, actor: `opcua:${entry.user ?? "anonymous"}` });
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (code === "EpcisUnavailable") {
        // this backend keeps no EPCIS inbox (a PostgreSQL pool): not the document's fault
        log(`OPEN-SCS EPCISStream.CloseAndCommit refused (BadNotSupported): ${err instanceof Error ? err.message : String(err)}`);
        return { statusCode: StatusCodes.BadNotSupported };
      }
      // a locked or full database is not the document's fault
      const fault = faultStatus(err);
      if (fault !== StatusCodes.BadInternalError) {
        log(`OPEN-SCS EPCISStream.CloseAndCommit failed (${fault.name}${typeof code === "string" ? `, ${code}` : ""}): ${err instanceof Error ? err.message : String(err)}`);
        return { statusCode: fault };
      }
      log(`OPEN-SCS EPCISStream commit refused: ${err instanceof Error ? err.message : String(err)}`);
      // the pool refused an event (state guard, hierarchy): the document was sound, the pool's state forbids it
      return { statusCode: (err as { code?: string }).code === "ImportRefused" ? StatusCodes.BadInvalidState : StatusCodes.BadInvalidArgument };
    }
    return { statusCode: StatusCodes.Good, outputArguments: [new Variant({ dataType: DataType.NodeId, value: NodeId.nullNodeId })] };
  });
}
