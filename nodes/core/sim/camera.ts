/* A simulated vision camera over the conveyor: it reads the code of each label and grades its print quality the
   ISO/IEC 15415 way (each parameter graded A to F, the symbol takes the lowest grade). Seeded streams decide
   no-reads, double reads, wrong codes and poor prints, each at its own configurable rate. */
import { checkRate, seededRng, SimError, type Rng } from "./rng";
import { serialFromCode } from "./code";
import { FNC1 } from "./zpl";

export type Grade = "A" | "B" | "C" | "D" | "F";
export const GRADES: readonly Grade[] = ["F", "D", "C", "B", "A"];
/** ISO/IEC 15415 grade letters and their numeric values (4.0 = A ... 0.0 = F) */
export const GRADE_VALUE: Record<Grade, number> = { A: 4, B: 3, C: 2, D: 1, F: 0 };

/** The graded parameters of ISO/IEC 15415 for a 2D matrix symbol (DataMatrix). */
export const PARAMETERS = [
  "decode",
  "symbolContrast",
  "modulation",
  "reflectanceMargin",
  "fixedPatternDamage",
  "axialNonuniformity",
  "gridNonuniformity",
  "unusedErrorCorrection",
] as const;
export type Parameter = (typeof PARAMETERS)[number];

export interface CameraOptions {
  seed?: number | string;
  /** probability that a label is not read at all (0..1) */
  noReadRate?: number;
  /** probability that a read is reported twice (the same label seen in two frames) */
  doubleReadRate?: number;
  /** probability that the code reported differs from the code printed (one character of the serial changed) */
  wrongCodeRate?: number;
  /** probability that one quality parameter falls to D or F (a poor print) */
  lowGradeRate?: number;
  /** lowest overall grade that passes (default C, the usual pharma minimum) */
  minGrade?: Grade;
}

export interface Read {
  /** what the camera decoded */
  code: string;
  gs1: boolean;
  /** the serial number in the code read (AI 21 / AI 00 / the whole non-GS1 code), null when unreadable as GS1 */
  serialNumber: string | null;
  /** overall grade: the lowest parameter grade */
  grade: Grade;
  parameters: Record<Parameter, Grade>;
  /** true when the grade is at least minGrade */
  gradeOk: boolean;
}

export type Inspection =
  | { outcome: "read"; reads: Read[] }
  | { outcome: "no-read"; reason: string };

export interface CameraStats {
  inspected: number;
  read: number;
  noRead: number;
  doubleRead: number;
  wrongCode: number;
  lowGrade: number;
}

const DIGITS = "0123456789";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";

export class SimCamera {
  readonly noReadRate: number;
  readonly doubleReadRate: number;
  readonly wrongCodeRate: number;
  readonly lowGradeRate: number;
  readonly minGrade: Grade;
  readonly stats: CameraStats = { inspected: 0, read: 0, noRead: 0, doubleRead: 0, wrongCode: 0, lowGrade: 0 };
  private readonly r: Record<"noRead" | "doubleRead" | "wrongCode" | "lowGrade" | "grades" | "mutation", Rng>;

  constructor(options: CameraOptions = {}) {
    this.noReadRate = checkRate("noReadRate", options.noReadRate, 0);
    this.doubleReadRate = checkRate("doubleReadRate", options.doubleReadRate, 0);
    this.wrongCodeRate = checkRate("wrongCodeRate", options.wrongCodeRate, 0);
    this.lowGradeRate = checkRate("lowGradeRate", options.lowGradeRate, 0);
    const min = options.minGrade ?? "C";
    if (!GRADES.includes(min)) throw new SimError("InvalidGrade", `minGrade must be one of A, B, C, D, F; it is ${JSON.stringify(options.minGrade)}`);
    this.minGrade = min;
    const seed = options.seed ?? 1;
    // one stream per knob: changing one rate leaves every other decision as it was
    this.r = {
      noRead: seededRng(seed, "camera/no-read"),
      doubleRead: seededRng(seed, "camera/double-read"),
      wrongCode: seededRng(seed, "camera/wrong-code"),
      lowGrade: seededRng(seed, "camera/low-grade"),
      grades: seededRng(seed, "camera/grades"),
      mutation: seededRng(seed, "camera/mutation"),
    };
  }

  /** Looks at one printed code. `gs1` says the symbol carries GS1 data (FNC1 first). */
  inspect(code: string, gs1: boolean): Inspection {
    if (typeof code !== "string" || code.length === 0) throw new SimError("NoCodeToRead", "the camera needs the code printed on the label (a non-empty string)");
    if (code.length > 4096) throw new SimError("CodeTooLong", `a DataMatrix holds at most 3116 characters; this code has ${code.length}`);
    this.stats.inspected++;
    // every stream draws once per label, whatever the outcome, so each knob's decisions depend on the label count only
    const noRead = this.r.noRead.chance(this.noReadRate);
    const wrong = this.r.wrongCode.chance(this.wrongCodeRate);
    const double = this.r.doubleRead.chance(this.doubleReadRate);
    const low = this.r.lowGrade.chance(this.lowGradeRate);
    const parameters = this.grade(low);
    const mutated = this.mutate(code, gs1);
    if (noRead) {
      this.stats.noRead++;
      return { outcome: "no-read", reason: "no symbol found in the frame" };
    }
    const readCode = wrong ? mutated : code;
    if (wrong) this.stats.wrongCode++;
    if (low) this.stats.lowGrade++;
    const overall = PARAMETERS.map((p) => parameters[p]).reduce((a, b) => (GRADE_VALUE[b] < GRADE_VALUE[a] ? b : a), "A" as Grade);
    const read: Read = {
      code: readCode,
      gs1,
      serialNumber: serialFromCode(readCode, gs1),
      grade: overall,
      parameters,
      gradeOk: GRADE_VALUE[overall] >= GRADE_VALUE[this.minGrade],
    };
    this.stats.read++;
    if (double) {
      this.stats.doubleRead++;
      return { outcome: "read", reads: [read, { ...read, parameters: { ...parameters } }] };
    }
    return { outcome: "read", reads: [read] };
  }

  /** A good print grades A (mostly) or B on each parameter; a poor one has one parameter at D or F. */
  private grade(low: boolean): Record<Parameter, Grade> {
    const g = this.r.grades;
    const out = {} as Record<Parameter, Grade>;
    for (const p of PARAMETERS) out[p] = p === "decode" ? "A" : g.chance(0.85) ? "A" : "B";
    const which = PARAMETERS[1 + g.int(PARAMETERS.length - 1)];
    const bad: Grade = g.chance(0.6) ? "D" : "F";
    if (low) out[which] = bad;
    return out;
  }

  /** The code with one character of its serial changed to another of the same kind (digit, letter). */
  private mutate(code: string, gs1: boolean): string {
    const m = this.r.mutation;
    let from = 0;
    let to = code.length;
    if (gs1) {
      // change a character of AI (21) when the code has one, so the result is still well-formed GS1 data
      const parts = code.split(FNC1);
      let offset = 0;
      for (const part of parts) {
        const serialStart = findAi21(part);
        if (serialStart >= 0) {
          from = offset + serialStart + 2;
          to = offset + part.length;
          break;
        }
        offset += part.length + 1;
      }
    }
    const pos = from + m.int(Math.max(1, to - from));
    const ch = code[pos] ?? "";
    const set = DIGITS.includes(ch) ? DIGITS : UPPER.includes(ch) ? UPPER : LOWER.includes(ch) ? LOWER : DIGITS;
    let repl = set[m.int(set.length)];
    if (repl === ch) repl = set[(set.indexOf(ch) + 1) % set.length];
    return code.slice(0, pos) + repl + code.slice(pos + 1);
  }
}

/** Where AI (21)'s value starts inside one GS-separated part of an element string, or -1. Walks the
    fixed-length AIs the pharma codes put first (01, 17, 11, 13, 15) so "21" inside a GTIN is not taken. */
function findAi21(part: string): number {
  const FIXED: Record<string, number> = { "00": 18, "01": 14, "02": 14, "11": 6, "13": 6, "15": 6, "16": 6, "17": 6 };
  let i = 0;
  while (i + 2 <= part.length) {
    const ai = part.slice(i, i + 2);
    if (ai === "21") return i;
    const len = FIXED[ai];
    if (len === undefined) return -1;
    i += 2 + len;
  }
  return -1;
}
