/** A tiny option parser for the serialflow commands: --name value, --flag, repeatable options, positionals. */
export interface ParsedArgs {
  options: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

export class UsageError extends Error {}

export function parseArgs(args: string[], spec: { values?: string[]; flags?: string[] }): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const flags = new Set(spec.flags ?? []);
  const out: ParsedArgs = { options: new Map(), flags: new Set(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (flags.has(name)) {
        out.flags.add(name);
      } else if (values.has(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : args[++i];
        if (v === undefined) throw new UsageError(`option --${name} needs a value`);
        out.options.set(name, [...(out.options.get(name) ?? []), v]);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}

/** The single value of a required option. */
export function required(p: ParsedArgs, name: string): string {
  const v = p.options.get(name);
  if (!v || v.length === 0) throw new UsageError(`option --${name} is required`);
  return v[v.length - 1];
}
