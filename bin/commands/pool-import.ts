/* serialflow pool import: see pool.ts. */
export { importCommand as run } from "./pool";
