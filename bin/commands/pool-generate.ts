/* serialflow pool generate: see pool-create.ts. */
export { generate as run } from "./pool-create";
