/* A client process for the session-limit tests: connects to an OPEN-SCS server, opens N sessions as one user
   (asking for a one-hour session timeout), prints one JSON line { opened, refused, timeouts } and waits to be
   killed. Arguments: a JSON object { endpointUrl, pkiFolder, serverCertificate (base64), user, password, sessions }. */
import { UserTokenType } from "node-opcua";
import { connectOpenScs } from "../../nodes/core/opcua";

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { endpointUrl: string; pkiFolder: string; serverCertificate: string; user: string; password: string; sessions: number };
  const c = await connectOpenScs({ endpointUrl: a.endpointUrl, pkiFolder: a.pkiFolder, trustServerCertificate: Buffer.from(a.serverCertificate, "base64"), user: a.user, password: a.password, maxRetry: 0 });
  (c.client as unknown as { requestedSessionTimeout: number }).requestedSessionTimeout = 3_600_000;
  let opened = 1;
  let refused = 0;
  const timeouts: number[] = [];
  for (let i = 1; i < a.sessions; i++) {
    try {
      const s = await c.client.createSession({ type: UserTokenType.UserName, userName: a.user, password: a.password });
      timeouts.push((s as unknown as { timeout: number }).timeout);
      opened++;
    } catch {
      refused++;
    }
  }
  process.stdout.write(JSON.stringify({ opened, refused, maxTimeout: Math.max(...timeouts) }) + "\n");
  setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String((err as Error)?.message ?? err) }) + "\n");
  process.exit(1);
});
