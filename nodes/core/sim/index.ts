/* Simulated line devices, no hardware: a label printer (ZPL over loopback TCP), a vision camera with ISO/IEC 15415
   style grades, and a line controller (PLC) with a reject gate and OPC UA counters. Seeded: the same seed gives
   the same line. See docs/sim.md. */
export { seededRng, checkRate, SimError } from "./rng";
export type { Rng } from "./rng";
export { parseZpl, parseLabel, ZplStream, FNC1 } from "./zpl";
export type { ZplField, ZplLabel } from "./zpl";
export { serialFromCode } from "./code";
export { SimPrinter, sendZpl, MISPRINT_REASONS } from "./printer";
export type { PrinterOptions, PrintedLabel, PrinterStats, JobSource } from "./printer";
export { SimCamera, GRADES, GRADE_VALUE, PARAMETERS } from "./camera";
export type { CameraOptions, Read, Inspection, Grade, Parameter, CameraStats } from "./camera";
export { SimPlc, PLC_NAMESPACE_URI } from "./plc";
export type { PlcOptions, Unit, GateEvent, PlcCounters, PlcOpcuaOptions, PlcOpcuaEndpoint } from "./plc";
