/* The history of a shipment: what a trading partner needs about the goods it receives (the commissioning of every
   item in the shipped hierarchy, the packing that built it, the shipping itself), not everything the line did in a
   time window. Read from audit records (or event inputs) in two passes, so memory holds the hierarchy, never the log. */
import type { PssEventInput } from "./build";

/**
 * The records that tell the history of the shipped items `shipped` (serial numbers as stored, e.g. pallet SSCCs):
 * - the hierarchy under them as the packing and unpacking records left it (children of children, any depth);
 * - commissioning records, each cut down to the items of that hierarchy (a commissioning of 6 units of which 3 were
 *   shipped is reported with those 3);
 * - packing and unpacking records whose parent is in the hierarchy, as they are (rework included);
 * - shipping records of any item of the hierarchy (a parent's shipping and the records of the contents it took along).
 * `read` is called twice and must give the same records in the same order (an audit-log query does).
 * Records in the `context.aggregation` shape must be expanded to one per parent first (the node's perParent).
 */
export function* shipmentHistory<R extends PssEventInput>(read: () => Iterable<R>, shipped: Iterable<string>): Generator<R> {
  const roots = new Set(shipped);
  // pass 1: the hierarchy as the packing records built it
  const children = new Map<string, Set<string>>();
  for (const r of read()) {
    const parent = r.context?.parent;
    if (!parent || (r.event !== "packing" && r.event !== "unpacking")) continue;
    const kids = r.serialNumbers.filter((s) => s !== parent);
    if (r.event === "packing") {
      const set = children.get(parent) ?? new Set<string>();
      for (const k of kids) set.add(k);
      children.set(parent, set);
    } else if (kids.length === 0) children.delete(parent);
    else for (const k of kids) children.get(parent)?.delete(k);
  }
  const inside = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const s = stack.pop() as string;
    if (inside.has(s)) continue;
    inside.add(s);
    for (const k of children.get(s) ?? []) stack.push(k);
  }
  // pass 2: the records of that hierarchy
  for (const r of read()) {
    if (r.event === "commissioning") {
      const mine = r.serialNumbers.filter((s) => inside.has(s));
      if (mine.length === r.serialNumbers.length) yield r;
      else if (mine.length) yield { ...r, serialNumbers: mine };
    } else if (r.event === "packing" || r.event === "unpacking") {
      if (r.context?.parent && inside.has(r.context.parent)) yield r;
    } else if (r.event === "shipping") {
      if (r.serialNumbers.some((s) => inside.has(s))) yield r;
    }
  }
}
