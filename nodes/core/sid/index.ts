/* SID classes per regulation, serial number generators and imported lists. No Node-RED here. */
import { getSidClass } from "./classes";
import { SidError } from "./errors";
import { createGenerator, type GeneratorSpec, type SerialGenerator } from "./generators";

export { SidError, type SidErrorCode, type ImportProblem } from "./errors";
export { getSidClass, listSidClasses, EU_FMD_SAFE_ALPHABET, type SidClass, type SerialRule, type IdentifierContext } from "./classes";
export {
  createGenerator, guessProbability, minimumRandomLength, DEFAULT_MAX_GUESS_PROBABILITY,
  type GeneratorSpec, type RandomSpec, type SequentialSpec, type SsccSpec, type SerialGenerator, type RandomSerialGenerator, type GeneratorDescription,
} from "./generators";
export { parseImport, MAX_IMPORT_PROBLEMS, type ImportedSerial, type ImportResult, type ImportOptions } from "./import";

export interface GeneratorOptions {
  /** numbers to be issued per product code over its life: checked against the class's guessing limit */
  intendedVolume?: number;
  /** replace the class's default kind/alphabet/length (still checked against the class) */
  kind?: "random" | "sequential";
  alphabet?: string;
  length?: number;
  /** sequential: prefix, first number and last number */
  prefix?: string;
  start?: bigint | number;
  end?: bigint | number;
  /** GS1-SSCC: company prefix and extension digit */
  companyPrefix?: string;
  extensionDigit?: number;
}

/**
 * The generator a market uses, checked against its SID class: the alphabet and length fit the serial rule,
 * randomised markets refuse sequential numbers, EU FMD refuses a guessable configuration, and
 * authority-issued classes refuse to generate at all (their numbers must be imported).
 */
export function generatorForSidClass(id: string, options: GeneratorOptions = {}): SerialGenerator {
  const cls = getSidClass(id);
  if (cls.serialIssuer === "authority") {
    throw new SidError("AuthorityIssued", `${id}: serial numbers are issued by ${cls.sidClassOwner}; they must be imported (sid.parseImport), never generated here`, { sidClassId: id });
  }
  let spec: GeneratorSpec;
  if (cls.identifierType === "SSCC") {
    if (!options.companyPrefix) throw new SidError("BadGeneratorSpec", `${id}: give companyPrefix (and extensionDigit) to generate SSCCs`, { sidClassId: id });
    spec = { kind: "sscc", companyPrefix: options.companyPrefix, extensionDigit: options.extensionDigit ?? 0 };
    if (options.start !== undefined) spec.start = options.start;
    if (options.end !== undefined) spec.end = options.end;
    return createGenerator(spec);
  }
  const base = cls.defaultGenerator;
  const kind = options.kind ?? base?.kind ?? "random";
  if (kind === "sequential") {
    if (cls.randomisationRequired) throw new SidError("RandomisationRequired", `${id}: ${cls.regulation} requires randomised serial numbers; sequential numbers are refused`, { sidClassId: id });
    const width = options.length ?? Math.min(cls.serial.maxLength - (options.prefix ?? "").length, 12);
    spec = { kind: "sequential", prefix: options.prefix ?? "", start: options.start ?? 0, width };
    if (options.end !== undefined) spec.end = options.end;
    const sample = `${spec.prefix}${"9".repeat(width)}`;
    const why = cls.checkSerial(sample) ?? (spec.prefix ? cls.checkSerial(`${spec.prefix}${"0".repeat(width)}`) : null);
    if (why) throw new SidError("GeneratorIncompatible", `${id}: this sequential configuration makes serials the class refuses: ${why}`, { sidClassId: id });
    return createGenerator(spec);
  }
  const alphabet = options.alphabet ?? (base && base.kind === "random" ? base.alphabet : cls.serial.alphabet);
  const length = options.length ?? (base && base.kind === "random" ? base.length : cls.serial.maxLength);
  const outside = [...alphabet].find((c) => !cls.serial.alphabet.includes(c));
  if (outside !== undefined) throw new SidError("GeneratorIncompatible", `${id}: character ${JSON.stringify(outside)} of the alphabet is not allowed in ${id} serial numbers (${cls.allowedCharacterSet})`, { sidClassId: id });
  if (length < cls.serial.minLength || length > cls.serial.maxLength) {
    throw new SidError("GeneratorIncompatible", `${id}: length ${length} is outside ${cls.serial.minLength}-${cls.serial.maxLength}`, { sidClassId: id });
  }
  spec = { kind: "random", alphabet, length };
  if (options.intendedVolume !== undefined) spec.intendedVolume = options.intendedVolume;
  if (cls.maxGuessProbability !== undefined) spec.maxGuessProbability = cls.maxGuessProbability;
  try {
    return createGenerator(spec);
  } catch (err) {
    if (err instanceof SidError) throw new SidError(err.code, `${id}: ${err.message}`, { sidClassId: id });
    throw err;
  }
}
