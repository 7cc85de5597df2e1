#!/usr/bin/env node
/* serialflow: the command-line tool of SerialFlow. */
import * as path from "path";
import { COMMANDS, CommandRow } from "./commands";
import { quietOpcuaNotices } from "./quiet";

function help(): string {
  const lines = [
    "serialflow: OPEN-SCS serial number pools, audit and OPC UA from the command line",
    "",
    "Usage: serialflow <command> [options]",
    "",
    "Commands:",
  ];
  for (const c of COMMANDS) {
    lines.push(`  ${c.usage}`);
    lines.push(`      ${c.summary}${c.module ? "" : " (not available in this version)"}`);
  }
  lines.push("", "  serialflow --help       this text", "  serialflow --version    the package version");
  return lines.join("\n");
}

function find(argv: string[]): { row: CommandRow; rest: string[] } | null {
  // longest match first, so "pool status" wins over a future "pool"
  const rows = [...COMMANDS].sort((a, b) => b.words.length - a.words.length);
  for (const row of rows) {
    if (row.words.every((w, i) => argv[i] === w)) return { row, rest: argv.slice(row.words.length) };
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(help());
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-v") {
    console.log(require(path.join(__dirname, "..", "..", "package.json")).version);
    return 0;
  }
  const hit = find(argv);
  if (!hit) {
    console.error(`serialflow: unknown command "${argv.join(" ")}". Run "serialflow --help" for the list of commands.`);
    return 2;
  }
  if (!hit.row.module) {
    console.error(`serialflow: "${hit.row.words.join(" ")}" is not available in this version of SerialFlow.`);
    return 3;
  }
  if (hit.rest.includes("--help") || hit.rest.includes("-h")) {
    console.log(`Usage: ${hit.row.usage}\n\n${hit.row.summary}`);
    return 0;
  }
  // before a command loads node-opcua: its start-up notices that ask nothing of the user stay hidden (bin/quiet.ts)
  quietOpcuaNotices();
  const mod = require(path.join(__dirname, "commands", hit.row.module)) as { run(args: string[]): Promise<number> };
  return mod.run(hit.rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`serialflow: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
