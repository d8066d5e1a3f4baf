/**
 * `etcd-trust-gate`: before any etcd member presents a certificate of the new etcd CA, every
 * member must accept one: a client certificate of the new CA on its client port and a peer
 * certificate of the new CA on its peer port. etcd reads its trusted CAs only at start
 * (etcd#11555), so this proves each member was restarted on the bundle.
 * @module
 */
import { z } from "zod";
import { defineStepKind, type StepContext } from "../engine/step.ts";
import { issueCertificate, loadCa } from "../pki/mod.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { manifestPath } from "../plan/node_paths.ts";
import { ETCD } from "./_etcd_quorum.ts";
import { askMember, type EtcdIdentity, type EtcdMember, etcdMembers } from "./_etcd_members.ts";
import { trustPem } from "./trust_sets.ts";

/** `etcd-trust-gate` parameters: how long to wait until every member accepts the new CA. */
export const EtcdTrustGateStep = z.strictObject({
  ...stepBase,
  kind: z.literal("etcd-trust-gate"),
  /** Tuning: how long to wait until every member accepts both certificates. */
  timeoutSeconds: positiveInt.default(120),
});

type Step = z.infer<typeof EtcdTrustGateStep>;

/** The common name of the gate's short-lived certificates (never written anywhere). */
export const GATE_COMMON_NAME = "ca-rotator-etcd-trust-gate";

/**
 * A client and a peer identity of the new etcd CA, held in memory for the gate only (an hour).
 * The peer certificate names no address: etcd checks a peer's addresses only when its
 * certificate names some, and the gate connects from wherever ca-rotator runs.
 */
async function gateIdentities(
  ctx: StepContext,
): Promise<{ client: EtcdIdentity; peer: EtcdIdentity }> {
  const pair = ctx.cas.get("etcd");
  const ca = await loadCa(pair.certPem, pair.keyPem, "new etcd CA");
  const caPem = await trustPem(ctx, "etcd", "bundle");
  const issue = async (extKeyUsages: string[]): Promise<EtcdIdentity> => {
    const issued = await issueCertificate({
      ca,
      commonName: GATE_COMMON_NAME,
      extKeyUsages,
      validityDays: 1,
      keyFormat: "pkcs8",
    });
    return { certPem: issued.certPem, keyPem: issued.keyPem!, caPem };
  };
  return { client: await issue(["clientAuth"]), peer: await issue(["clientAuth", "serverAuth"]) };
}

/** Pure: what is wrong with a member's answers, or undefined when it accepts both. */
export function refusal(
  member: EtcdMember,
  client: Awaited<ReturnType<typeof askMember>>,
  peer: Awaited<ReturnType<typeof askMember>>,
): string | undefined {
  const problems: string[] = [];
  const say = (port: string, answer: typeof client) => {
    if ("error" in answer) problems.push(`${port}: ${answer.error}`);
    else if (answer.status !== 200) problems.push(`${port}: HTTP ${answer.status}`);
  };
  say(`client port ${member.clientUrl}`, client);
  say(`peer port ${member.peerUrl}`, peer);
  return problems.length ? `${member.node}: ${problems.join("; ")}` : undefined;
}

/** The etcd-trust-gate step kind. */
export const etcdTrustGate = defineStepKind<Step, null>({
  kind: "etcd-trust-gate",
  schema: EtcdTrustGateStep,
  undo: { nothing: "it only checks, with certificates it holds in memory" },
  drift: { none: "it only checks" },
  tuning: ["timeoutSeconds"],
  checksOnly: true,
  cas: () => ["etcd"],
  needsEarlier: ["distribute-ca"],

  observe: () => Promise.resolve(null),

  diff: () => [],

  apply: () => Promise.resolve(),

  async verify(ctx, step) {
    const members = await etcdMembers(ctx.controlPlane, manifestPath(ctx.layout, ETCD));
    const { client, peer } = await gateIdentities(ctx);
    let last: string[] = [];
    await ctx.waitFor(
      `every etcd member (${members.length}) to accept new-CA client and peer certificates`,
      async () => {
        const answers = await Promise.all(members.map(async (member) =>
          refusal(
            member,
            await askMember(client, `${member.clientUrl}/v3/maintenance/status`, {}),
            await askMember(peer, `${member.peerUrl}/members`),
          )
        ));
        last = answers.filter((each): each is string => each !== undefined);
        return {
          done: last.length === 0,
          ready: members.length - last.length,
          total: members.length,
        };
      },
      step.timeoutSeconds * 1000,
    ).catch((error) => {
      throw new Error(
        `${(error as Error).message}; refused: ${last.join(" | ") || "(none recorded)"}`,
      );
    });
    ctx.log.info(`all ${members.length} etcd members accept new-CA client and peer certificates`);
  },
});
