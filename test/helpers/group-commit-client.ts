/* For test/core/group-commit.spec.ts, run as its own process: node group-commit-client.js FILE. Sixteen concurrent
   callers commission the Encoded numbers of the file's pool, one number per call, through the group commit
   (SqlitePoolStore.grouped); each number is printed on stdout once its call is acknowledged (its promise resolved,
   after the commit). The parent SIGKILLs this process at a random moment. */
import { openPoolStore } from "../../nodes/core/store";
import { stateToEnum } from "../../nodes/core/lifecycle";

const file = process.argv[2];
const store = openPoolStore(file, { actor: "group-commit-client" });
const todo = store.db.prepare("SELECT value FROM serial_number WHERE state = ? ORDER BY value").pluck().all(stateToEnum("Encoded")) as string[];
process.stdout.write("ready\n");
const CALLERS = 16;
void Promise.all(Array.from({ length: CALLERS }, async (_, c) => {
  for (let i = c; i < todo.length; i += CALLERS) {
    const v = todo[i];
    await store.grouped(() => store.applyEvent("commissioning", { serialNumbers: [v] }));
    process.stdout.write(`${v}\n`);
  }
})).then(() => {
  store.close();
  process.stdout.write("end\n");
});
