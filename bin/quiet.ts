/* Start-up notices of node-opcua that a SerialFlow user cannot act on, hidden in the serialflow commands.

   NODE-OPCUA-W27 (Node.js 20 from 20.11: "you need to use node flag --security-revert=CVE-2023-46809 if you have
   issue with RSA PKCS#1 v1.5"): node-opcua tests at load time whether Node.js still decrypts RSA PKCS#1 v1.5, which
   only the security policies Basic128Rsa15 and Basic256 need. SerialFlow's server and client offer Basic256Sha256,
   Aes128_Sha256_RsaOaep and Aes256_Sha256_RsaPss (RSA-OAEP or RSA-PSS) only, so nothing depends on it.
   Every other node-opcua warning is still printed (on stderr, where a command's diagnostics go). */
import * as path from "path";
import { format } from "util";

export const HIDDEN_NOTICES: RegExp[] = [/\[NODE-OPCUA-W27\]/, /--security-revert=CVE-2023-46809/];

interface OpcuaDebug {
  setWarningLogger(log: (ctx: { filename: string; callerline: number }, ...args: unknown[]) => void): void;
  messageLogger?: { emit(event: string, text: string): void };
}

let installed = false;

/** Installs a node-opcua warning logger that drops HIDDEN_NOTICES; a no-op when node-opcua is not installed. */
export function quietOpcuaNotices(): void {
  if (installed) return;
  let debug: OpcuaDebug;
  try {
    // the copy of node-opcua-debug that node-opcua's secure channel (where W27 comes from) loads
    const channel = path.dirname(require.resolve("node-opcua-secure-channel"));
    debug = require(require.resolve("node-opcua-debug", { paths: [channel] })) as OpcuaDebug;
  } catch {
    return;
  }
  if (typeof debug.setWarningLogger !== "function") return;
  installed = true;
  debug.setWarningLogger((ctx, ...args) => {
    const text = format(...args);
    if (HIDDEN_NOTICES.some((re) => re.test(text))) return;
    const where = `${new Date().toISOString().slice(11)} node-opcua ${ctx.filename}:${ctx.callerline}`;
    for (const line of text.split("\n")) console.error(`${where} ${line}`);
    debug.messageLogger?.emit("warningMessage", text);
  });
}
