/* Who may call what on an OPEN-SCS server: roles and their rights, the caller of a session, the login check, and
   the delay after failed logins and refused calls (per user and per address). */
import * as crypto from "crypto";
import { UserNameIdentityToken, AnonymousIdentityToken } from "node-opcua";
import type { ISessionContext } from "node-opcua";
import { Throttle } from "../guard";
import type { ThrottleOptions } from "../guard";

export type Role = "reader" | "requester" | "pusher" | "reporter" | "operator" | "admin";
export type Right = "request" | "return" | "push" | "report";

/** What each role may do; a method needs one right (see METHOD_RIGHT). */
export const ROLE_RIGHTS: Record<Role, Right[]> = {
  reader: [],
  requester: ["request", "return"],
  pusher: ["push", "return"],
  reporter: ["report"],
  operator: ["request", "return", "report"],
  admin: ["request", "return", "push", "report"],
};
export const ROLES = Object.keys(ROLE_RIGHTS) as Role[];

export interface OpenScsUser {
  name: string;
  password: string;
  roles: Role[];
}

/** Which right each OPEN-SCS method needs. */
export const METHOD_RIGHT: Record<string, Right> = {
  SNRequestUnassigned: "request", SNRequestUnallocated: "request", SNRequestAllocated: "request",
  SNReturnUnallocated: "return", SNReturnAllocated: "return",
  SNtoUnallocated: "push", SNtoAllocated: "push", SNtoEncoded: "push",
  LabelsEncodingEvent: "report", LabelsInspectingEvent: "report", LabelsSamplingEvent: "report", LabelsScrappingEvent: "report",
  SIDCommissioningEvent: "report", SIDDecommissioningEvent: "report", SIDDestroyingEvent: "report", SIDInspectingEvent: "report",
  SIDShippingEvent: "report", SNInvalidatingEvent: "report", AggregationPackingEvent: "report", AggregationUnpackingEvent: "report",
  GenerateFileForWrite: "report", CloseAndCommit: "report",
};

/** the caller of a session that is neither anonymous nor a configured user (never matches a user name) */
export const NO_USER = "\u0000no-user";

/** Throws when a user has a role that does not exist. */
export function checkUsers(users: readonly OpenScsUser[]): void {
  for (const u of users) {
    for (const r of u.roles) if (!ROLES.includes(r)) throw new Error(`user ${u.name}: unknown role "${r}" (roles: ${ROLES.join(", ")})`);
  }
}

/** The user behind a call: null for an anonymous session, NO_USER for an identity that is no configured user. */
export function callerOf(context: ISessionContext): string | null {
  const token = (context.session as { userIdentityToken?: unknown } | undefined)?.userIdentityToken;
  if (token instanceof UserNameIdentityToken) return token.userName ?? "";
  if (token === undefined || token === null || token instanceof AnonymousIdentityToken) return null;
  // any other identity (an X509 user certificate) maps to no configured user: no rights
  return NO_USER;
}

/** The client's address, for the log and the throttle. */
export function addressOf(context: ISessionContext): string {
  const ch = (context.session as { channel?: { remoteAddress?: string } } | undefined)?.channel;
  return ch?.remoteAddress || "unknown address";
}

/** A user name for the log: quoted and cut short, so a hostile name cannot forge or flood log lines. */
export function showUser(user: string | null): string {
  if (user === null) return "anonymous";
  if (user === NO_USER) return "a certificate user";
  return `user ${JSON.stringify(user.length > 64 ? `${user.slice(0, 64)}…` : user)}`;
}

/** Password check in constant time, so response timing does not leak how much of a guess was right. */
function samePassword(expected: string, given: string): boolean {
  const a = crypto.createHash("sha256").update(expected, "utf8").digest();
  const b = crypto.createHash("sha256").update(String(given ?? ""), "utf8").digest();
  return crypto.timingSafeEqual(a, b);
}

const sleep = (ms: number) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : r()));

export interface AccessOptions {
  users: readonly OpenScsUser[];
  /** the roles of an anonymous session */
  anonymousRoles: readonly Role[];
  throttle: ThrottleOptions;
  log: (message: string) => void;
}

/** The users, their rights, and the throttles of failed logins and refused calls. */
export class AccessControl {
  private readonly logins: Throttle;
  private readonly refusals: Throttle;

  constructor(private readonly o: AccessOptions) {
    this.logins = new Throttle(o.throttle);
    this.refusals = new Throttle(o.throttle);
  }

  /** the rights of a caller (see callerOf) */
  rightsOf(userName: string | null): Set<Right> {
    const roles = userName === null ? this.o.anonymousRoles : userName === NO_USER ? [] : this.o.users.find((u) => u.name === userName)?.roles ?? [];
    return new Set(roles.flatMap((r) => ROLE_RIGHTS[r]));
  }

  /** may this caller (see callerOf) call `method`? */
  may(user: string | null, method: string): boolean {
    return this.rightsOf(user).has(METHOD_RIGHT[method]);
  }

  /** ActivateSession with a user name: a failed login is logged and answered later and later per user and address. */
  async checkLogin(userName: string, password: string, address: string): Promise<boolean> {
    const keys = [`user:${userName}`, `address:${address}`];
    await this.logins.wait(keys);
    const ok = this.o.users.some((u) => u.name === userName && samePassword(u.password, password));
    if (ok) {
      this.logins.succeed(keys);
      return true;
    }
    const { failures, delay } = this.logins.fail(keys);
    this.o.log(`OPEN-SCS login refused: ${showUser(userName)} from ${address} (ActivateSession, wrong user name or password; failure ${failures}, answered after ${delay} ms)`);
    await sleep(delay);
    return false;
  }

  /** A call refused for want of the right: logged, and answered later and later per user and per address. */
  async refusePrivilege(user: string | null, address: string, method: string): Promise<void> {
    const keys = [`user:${user ?? "\u0000anonymous"}`, `address:${address}`];
    await this.refusals.wait(keys);
    const { failures, delay } = this.refusals.fail(keys);
    this.o.log(`OPEN-SCS ${method} refused: ${showUser(user)} from ${address} has no "${METHOD_RIGHT[method]}" right (InsufficientPrivilegeToExecute; refusal ${failures}, answered after ${delay} ms)`);
    await sleep(delay);
  }
}
