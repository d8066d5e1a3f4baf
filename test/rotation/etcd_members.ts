/**
 * Stacked etcd members as a test reads them: which members serve a client, the failures of the
 * etcd probe a member that was up caused (with the members' log lines near each), kubeadm's etcd
 * paths on every node, and a member's log line refusing a client certificate.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TestCluster } from "../cluster/harness.ts";
import { type EtcdFailure, type EtcdProbeCounts, gateway } from "./etcd_probe.ts";
import { errorText } from "../../src/steps/_watch_object.ts";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";
import { parseCertificates } from "../../src/pki/mod.ts";

const PKI = "etc/kubernetes/pki";

/** A client of every member with `credentials`: the members that answered a range. */
export async function membersAnswering(
  cluster: TestCluster,
  credentials: { certPem: string; keyPem: string; caPem: string },
): Promise<{ answered: string[]; errors: string[] }> {
  const answered: string[] = [];
  const errors: string[] = [];
  for (const node of cluster.nodes) {
    try {
      await gateway(credentials, `https://${node.ip}:2379/v3/kv/range`, { key: btoa("/registry") });
      answered.push(node.name);
    } catch (error) {
      errors.push(`${node.name}: ${errorText(error)}`);
    }
  }
  return { answered, errors };
}

/** Refused or closed: the member was down for its restart (failureKind). */
const memberDown = (failure: EtcdFailure) => ["refused", "closed"].includes(failure.kind);

/** Failures a member that was up caused (not refused or closed: a member down for its restart). */
export function realFailures(counts: EtcdProbeCounts): EtcdFailure[] {
  return counts.failures.filter((failure) => !memberDown(failure));
}

/**
 * The evidence of each failure: the leader changes the probe saw near it, and the lines of every
 * member's log (var/log/etcd.log) within 8 s before it that tell of leaders, elections,
 * transfers, dropped proposals or timeouts.
 */
export async function failureEvidence(
  cluster: TestCluster,
  counts: EtcdProbeCounts,
): Promise<string> {
  const lines: string[] = [];
  const printed = new Set<string>();
  for (const failure of realFailures(counts).slice(0, 6)) {
    const at = Date.parse(failure.at);
    const near = counts.leaderChanges.filter((change) =>
      Math.abs(Date.parse(change.at) - at) < 15_000
    );
    lines.push(
      `${failure.at} ${failure.member} ${failure.request} ${failure.kind}: ${failure.message}; ` +
        `leader changes within 15 s: ${JSON.stringify(near)}`,
    );
    for (const node of cluster.nodes) {
      let log = "";
      try {
        log = await Deno.readTextFile(join(node.root, "var/log/etcd.log"));
      } catch {
        continue;
      }
      for (const line of log.split("\n")) {
        const ts = /"ts":"([^"]+)"/.exec(line)?.[1];
        if (ts === undefined) continue;
        const when = Date.parse(ts);
        if (when < at - 8_000 || when > at + 500) continue;
        if (
          !/leader|elect|transfer|drop|timed out|term|stopp|SIGTERM|received signal/i.test(line)
        ) {
          continue;
        }
        if (printed.has(line)) continue;
        printed.add(line);
        lines.push(`  ${node.name}: ${line.slice(0, 260)}`);
      }
    }
  }
  return lines.join("\n");
}

/**
 * kubeadm's paths on every node: `etcd/ca.crt` is `caPem` (one certificate), nothing staged, and
 * etcd's `--trusted-ca-file`, `--peer-trusted-ca-file` and the API server's `--etcd-cafile` name it.
 */
export async function assertKubeadmPaths(cluster: TestCluster, caPem: string): Promise<void> {
  assert.equal(parseCertificates(caPem).length, 1, "etcd/ca.crt holds one CA");
  for (const root of cluster.nodeRoots) {
    assert.equal(await Deno.readTextFile(join(root, PKI, "etcd/ca.crt")), caPem, root);
    for (const gone of ["etcd/ca-bundle.crt", "etcd/ca-new.crt", "etcd/ca-new.key"]) {
      await assert.rejects(Deno.stat(join(root, PKI, gone)), `${root}: ${gone} removed`);
    }
    const manifests = join(root, "etc/kubernetes/manifests");
    const etcd = manifestFlags(await Deno.readTextFile(join(manifests, "etcd.yaml")));
    assert.equal(etcd.get("--trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
    assert.equal(etcd.get("--peer-trusted-ca-file"), "/etc/kubernetes/pki/etcd/ca.crt");
    const apiserver = manifestFlags(
      await Deno.readTextFile(join(manifests, "kube-apiserver.yaml")),
    );
    assert.equal(apiserver.get("--etcd-cafile"), "/etc/kubernetes/pki/etcd/ca.crt");
  }
}

/**
 * The line of the member's log (var/log/etcd.log) since `since` (epoch ms) that tells of a client
 * certificate refused for its CA, waiting up to 5 s for it to be written; undefined if none.
 */
export async function rejectionLogged(root: string, since: number): Promise<string | undefined> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    const log = await Deno.readTextFile(join(root, "var/log/etcd.log")).catch(() => "");
    const line = log.split("\n").find((each) => {
      const ts = /"ts":"([^"]+)"/.exec(each)?.[1];
      return ts !== undefined && Date.parse(ts) >= since &&
        /rejected connection on client endpoint/.test(each) &&
        /unknown authority|bad certificate|certificate/i.test(each);
    });
    if (line) return line.slice(0, 300);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

/** A span in which a member was down for a restart (its refused or closed requests). */
export interface MemberDownSpan {
  readonly member: string;
  readonly from: number;
  readonly to: number;
}

/**
 * The spans each member was down, from the probe's refused and closed requests to it: failures
 * of one member less than `gapMs` apart are one restart.
 */
export function memberDownSpans(
  failures: readonly EtcdFailure[],
  gapMs = 5_000,
): MemberDownSpan[] {
  const spans: MemberDownSpan[] = [];
  const down = failures.filter(memberDown)
    .map((failure) => ({ member: failure.member, at: Date.parse(failure.at) }))
    .sort((a, b) => a.member.localeCompare(b.member) || a.at - b.at);
  for (const { member, at } of down) {
    const last = spans.at(-1);
    if (last && last.member === member && at - last.to < gapMs) {
      spans[spans.length - 1] = { ...last, to: at };
    } else spans.push({ member, from: at, to: at });
  }
  return spans;
}

/**
 * Splits request failures (each the time it ended) into those inside a member's down span —
 * from `beforeMs` before its first refused request (the member stopping) to `afterMs` after its
 * last (a request sent then waits for the member's local API server to reach etcd again) — and
 * the others.
 */
export function byMemberRestart(
  failedAt: readonly string[],
  spans: readonly MemberDownSpan[],
  beforeMs = 2_000,
  afterMs = 8_000,
): { inRestart: string[]; outside: string[] } {
  const inRestart: string[] = [];
  const outside: string[] = [];
  for (const at of failedAt) {
    const time = Date.parse(at);
    const inside = spans.some((span) => time >= span.from - beforeMs && time <= span.to + afterMs);
    (inside ? inRestart : outside).push(at);
  }
  return { inRestart, outside };
}
