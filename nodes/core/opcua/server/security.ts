/* The message security modes and policies an OPEN-SCS server offers. */
import { MessageSecurityMode, SecurityPolicy } from "node-opcua";

export type SecurityModeName = "None" | "Sign" | "SignAndEncrypt";
export type SecurityPolicyName = "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";

const MODE: Record<SecurityModeName, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};
const POLICY: Record<SecurityPolicyName, SecurityPolicy> = {
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** The node-opcua modes and policies for these names: by default SignAndEncrypt with Basic256Sha256 and
    Aes128_Sha256_RsaOaep; the mode None adds the policy None. */
export function securitySettings(security: { modes?: SecurityModeName[]; policies?: SecurityPolicyName[] } | undefined): { modes: MessageSecurityMode[]; policies: SecurityPolicy[] } {
  const modes = (security?.modes ?? ["SignAndEncrypt"]).map((m) => MODE[m]);
  const policies = (security?.policies ?? ["Basic256Sha256", "Aes128_Sha256_RsaOaep"]).map((p) => POLICY[p]);
  if (modes.includes(MessageSecurityMode.None)) policies.push(SecurityPolicy.None);
  return { modes, policies };
}
