/* pss-sim-camera: a simulated vision camera. It reads the code on each printed label (msg.printed from the
   simulated printer, or a code in msg.payload), grades it ISO/IEC 15415-style and says whether it is the code
   expected. Output 1: one message per read (two for a double read), output 2: no-read. Seeded rates. */
import type { NodeAPI, Node, NodeDef, NodeMessageInFlow, SendFn, DoneFn } from "../common/red";
import { isPlainObject } from "../common/args";
import { InputError, asNodeError, statusText } from "../common/errors";
import { onInput } from "../common/pipeline";
import { rateSetting, seedSetting } from "../common/sim-args";
import { SimCamera, GRADES, FNC1, type Grade } from "../core/sim";

export interface SimCameraNodeDef extends NodeDef {
  seed?: number | string;
  noReadRate?: number | string;
  doubleReadRate?: number | string;
  wrongCodeRate?: number | string;
  lowGradeRate?: number | string;
  minGrade?: string;
}

interface Target {
  code: string;
  gs1: boolean;
  /** the serial number the label should carry, when known */
  expected: string | null;
}

const MAX_LABELS = 10_000;

/** What the camera looks at: msg.payload as a code, msg.payload.code, or every label of msg.printed. */
function targetsOf(msg: NodeMessageInFlow): Target[] {
  const p = msg.payload;
  const gs1Text = (code: string) => code.includes(FNC1) || /^(01|00)\d/.test(code);
  if (typeof p === "string" && p.length) return [{ code: p, gs1: gs1Text(p), expected: null }];
  if (isPlainObject(p) && p.code !== undefined) {
    if (typeof p.code !== "string" || p.code === "") throw new InputError("NoCodeToRead", "msg.payload.code must be the code on the label (a non-empty string)");
    const expected = typeof p.serialNumber === "string" ? p.serialNumber : null;
    return [{ code: p.code, gs1: typeof p.gs1 === "boolean" ? p.gs1 : gs1Text(p.code), expected }];
  }
  const printed = (msg as { printed?: unknown }).printed;
  if (Array.isArray(printed)) {
    if (printed.length === 0) throw new InputError("NoCodeToRead", "msg.printed holds no label");
    if (printed.length > MAX_LABELS) throw new InputError("BatchTooLarge", `msg.printed holds ${printed.length} labels, more than ${MAX_LABELS}`);
    return printed.map((l, i) => {
      if (!isPlainObject(l) || typeof l.code !== "string" || l.code === "") throw new InputError("NoCodeToRead", `msg.printed[${i}] has no code: the camera reads labels as the simulated printer reports them`);
      return { code: l.code, gs1: l.gs1 === true, expected: typeof l.serialNumber === "string" ? l.serialNumber : null };
    });
  }
  throw new InputError("NoCodeToRead", "nothing to read: send the code in msg.payload (or msg.payload.code), or the simulated printer's output (msg.printed)");
}

export default function (RED: NodeAPI): void {
  function PssSimCameraNode(this: Node & { camera: SimCamera }, config: SimCameraNodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let configError: Error | undefined;
    try {
      const minGrade = (config.minGrade || "C").trim().toUpperCase() as Grade;
      if (!GRADES.includes(minGrade)) throw new InputError("InvalidGrade", `minimum grade must be A, B, C, D or F; it is ${JSON.stringify(config.minGrade)}`);
      node.camera = new SimCamera({
        seed: seedSetting(config.seed),
        noReadRate: rateSetting("no-read rate", config.noReadRate),
        doubleReadRate: rateSetting("double-read rate", config.doubleReadRate),
        wrongCodeRate: rateSetting("wrong-code rate", config.wrongCodeRate),
        lowGradeRate: rateSetting("low-grade rate", config.lowGradeRate),
        minGrade,
      });
      node.status({});
    } catch (err) {
      configError = asNodeError(err);
      node.camera = new SimCamera();
      node.status({ fill: "red", shape: "ring", text: statusText(configError as Error & { code: string }) });
      node.error(`simulated camera: ${configError.message}`);
    }
    const camera = node.camera;

    onInput(node, {
      what: "pss-sim-camera",
      run: async (msg) => {
        if (configError) throw configError;
        const targets = targetsOf(msg);
        delete (msg as { printed?: unknown }).printed;
        const out: Array<[NodeMessageInFlow | null, NodeMessageInFlow | null]> = [];
        for (const t of targets) {
          const r = camera.inspect(t.code, t.gs1);
          const m = () => (out.length === 0 ? msg : RED.util.cloneMessage(msg));
          if (r.outcome === "no-read") {
            out.push([null, Object.assign(m(), { payload: { expected: t.expected, code: null, reason: r.reason, serialNumbers: t.expected ? [t.expected] : [] } })]);
            continue;
          }
          r.reads.forEach((read, i) => {
            const match = t.expected === null ? null : read.serialNumber === t.expected && read.code === t.code;
            out.push([Object.assign(m(), {
              payload: {
                code: read.code,
                gs1: read.gs1,
                serialNumber: read.serialNumber,
                serialNumbers: read.serialNumber ? [read.serialNumber] : [],
                expected: t.expected,
                match,
                grade: read.grade,
                parameters: read.parameters,
                gradeOk: read.gradeOk,
                pass: read.gradeOk && match !== false,
                readIndex: i + 1,
              },
            }), null]);
          });
        }
        return out;
      },
      ok: (out, _msg, send) => {
        const st = camera.stats;
        for (const pair of out) send(pair);
        const f = (n: number) => n.toLocaleString("en-US");
        return { fill: st.noRead || st.wrongCode || st.lowGrade ? "yellow" : "green", shape: "dot", text: RED._("pss-sim-camera.status.stats", { read: f(st.read), noRead: f(st.noRead), lowGrade: f(st.lowGrade) }) };
      },
    });
  }
  RED.nodes.registerType("pss-sim-camera", PssSimCameraNode as never);
}
