/* serialflow pool status: see pool.ts. */
export { status as run } from "./pool";
