/* Node-RED started the way a user starts it (`npm start` = scripts/start.js), on an ephemeral port and a
   temporary user directory, for the end-to-end and browser tests. */
import * as path from "path";
import { spawn, ChildProcess } from "child_process";
import { freePort } from "./net";
import { REPO_ROOT } from "./paths";

export interface StartedNodeRed {
  base: string;
  /** the OPC UA port of the demo's PLC */
  plcPort: number;
  userDir: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startNodeRed(userDir: string, env: Record<string, string> = {}): Promise<StartedNodeRed> {
  const port = await freePort();
  const plcPort = env.SERIALFLOW_PLC_PORT ? Number(env.SERIALFLOW_PLC_PORT) : await freePort();
  let out = "";
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, "scripts", "start.js")], {
    cwd: REPO_ROOT,
    // the demo PLC's OPC UA port (4842 in the examples) moved to a free one: other Node-REDs share this machine
    env: { ...process.env, SERIALFLOW_PORT: String(port), SERIALFLOW_USER_DIR: userDir, SERIALFLOW_PLC_PORT: String(plcPort), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  };
  const base = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("Node-RED did not announce the editor within 90 s:\n" + out)), 90000);
    const check = () => {
      const m = /the Node-RED editor is at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`start script exited with ${code}:\n${out}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { base, userDir, plcPort, output: () => out, stop };
}
