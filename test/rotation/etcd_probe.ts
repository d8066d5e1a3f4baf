/**
 * A client of etcd that writes and reads through every member for the whole rotation, with the
 * API server's etcd client credentials as they are on that member's node at that moment
 * (`apiserver-etcd-client.crt/.key`, and the CA file the node's kube-apiserver manifest names in
 * `--etcd-cafile`), through etcd's JSON gRPC gateway (`/v3/kv/put`, `/v3/kv/range`), a new TLS
 * connection per request; and an observer of the leader (`/v3/maintenance/status` of each
 * member). Failures are sorted so that a member that is restarting (connection refused) is told
 * apart from a refused certificate or a write that found no quorum. A read that fails with
 * gRPC code 14 (Unavailable: "leader changed" when a leader change cuts a linearizable read
 * short) is sent again, as etcd's Go client (clientv3, the API server's) does for every
 * repeatable request (its retry interceptor); a write is never sent again, as clientv3 does not.
 * @module
 */
import { join } from "node:path";
import { manifestFlags } from "../../src/formats/static_pod_manifest.ts";
import type { TestCluster } from "../cluster/harness.ts";
import { errorText } from "../../src/steps/_watch_object.ts";

/** Why a request failed. */
export type EtcdFailureKind =
  | "refused"
  | "closed"
  | "tls"
  | "timeout"
  | "http"
  | "mismatch"
  | "other";

/** What the probe saw through one member. */
export interface MemberCounts {
  writes: number;
  reads: number;
  ok: number;
  failures: Record<EtcdFailureKind, number>;
  /** The last failure of each kind: when, and its message. */
  lastFailure: Partial<Record<EtcdFailureKind, string>>;
  /** Reads sent again after a 503 with gRPC code 14, as clientv3 does (each success is ok). */
  readRetries: number;
  /**
   * Rounds skipped because a file the node's API server manifest names was missing at that
   * moment (a rollback removes the bundle just before it restores the manifest that names it;
   * the API server holds its CAs in memory): no request was sent.
   */
  credentialMisses: number;
}

/** One failed request: when it ended, through which member, which request, why. */
export interface EtcdFailure {
  at: string;
  member: string;
  request: "put" | "range";
  kind: EtcdFailureKind;
  message: string;
}

/** What the probe saw. */
export interface EtcdProbeCounts {
  readonly members: Record<string, MemberCounts>;
  /** Leader observations: rounds of status requests to every member. */
  leaderSamples: number;
  /** Rounds in which no member that answered named a leader (or none answered). */
  leaderless: number;
  /** The leader's member ids seen, in order of first sight. */
  readonly leaders: string[];
  /** Each change of the leader the members name (the first sample too): when, and to whom. */
  readonly leaderChanges: { at: string; leader: string }[];
  /** Every failed request (refused and closed too), in order. */
  readonly failures: EtcdFailure[];
  /** Rounds (one per interval) in which no write through any member succeeded. */
  roundsWithoutWrite: number;
  rounds: number;
  durationMs: number;
}

/** A running probe. */
export interface EtcdProbe {
  readonly counts: EtcdProbeCounts;
  stop(): Promise<EtcdProbeCounts>;
}

/** The credentials of the API server's etcd client on a node, read now. */
export async function apiServerEtcdCredentials(
  root: string,
): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  const manifest = await Deno.readTextFile(
    join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"),
  );
  const flags = manifestFlags(manifest);
  const under = (path: string) => join(root, path);
  return {
    certPem: await Deno.readTextFile(under(flags.get("--etcd-certfile")!)),
    keyPem: await Deno.readTextFile(under(flags.get("--etcd-keyfile")!)),
    caPem: await Deno.readTextFile(under(flags.get("--etcd-cafile")!)),
  };
}

/** Sorts an error of fetch (or an HTTP answer) into a kind. */
export function failureKind(message: string): EtcdFailureKind {
  if (/refused|os error 111/i.test(message)) return "refused";
  // A connection closed or reset, or a handshake cut short: a member stopping for its restart
  // does this, and so does a member that rejects a client certificate under TLS 1.3 (the alert
  // may arrive after the client's own handshake is done): counted apart, never as success.
  if (
    /reset by peer|os error 104|broken pipe|unexpected eof|connection closed|handshake eof/i.test(
      message,
    )
  ) {
    return "closed";
  }
  if (/certificate|tls|handshake|alert|UnknownIssuer|BadCertificate|x509/i.test(message)) {
    return "tls";
  }
  if (/timed? ?out|abort/i.test(message)) return "timeout";
  if (/^HTTP /.test(message)) return "http";
  return "other";
}

const b64 = (text: string) => btoa(text);

/** One POST to the gateway; the parsed JSON answer, or throws with the reason. */
export async function gateway(
  credentials: { certPem: string; keyPem: string; caPem: string },
  url: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const client = Deno.createHttpClient({
    cert: credentials.certPem,
    key: credentials.keyPem,
    caCerts: [credentials.caPem],
  });
  try {
    const response = await fetch(url, {
      client,
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text);
  } finally {
    client.close();
  }
}

/** How long before a failure's end its request may have been sent (the probe's own timeout). */
const REQUEST_SPAN_MS = 10_000;
/** How late the probe may see a leader change (its leader rounds are this far apart, or less). */
const LEADER_SAMPLE_LAG_MS = 2_000;

/**
 * The failures a leadership hand-off explains: a request that waited out its timeout or was
 * answered "leader changed" or "raft proposal dropped" (raft drops a proposal while the
 * leadership transfers) while the leader changed (a change the probe saw between the
 * request's earliest start and a sampling interval after its end). A member that leads must
 * restart to load a new trusted CA, so each pass moves the leadership once, after handing it
 * off: raft drops the proposals followers forward while the transfer runs, and their writes time
 * out. The others are split out as unexplained.
 */
export function byHandOff(
  failures: readonly EtcdFailure[],
  leaderChanges: readonly { at: string }[],
): { handOff: EtcdFailure[]; unexplained: EtcdFailure[] } {
  const changes = leaderChanges.slice(1).map((change) => Date.parse(change.at));
  const handOff: EtcdFailure[] = [];
  const unexplained: EtcdFailure[] = [];
  for (const failure of failures) {
    const end = Date.parse(failure.at);
    const leaderMoved = changes.some((at) =>
      at >= end - REQUEST_SPAN_MS && at <= end + LEADER_SAMPLE_LAG_MS
    );
    const waitedOnLeader = failure.kind === "timeout" ||
      /leader changed|raft proposal dropped/.test(failure.message);
    (leaderMoved && waitedOnLeader ? handOff : unexplained).push(failure);
  }
  return { handOff, unexplained };
}

/** Unavailable (gRPC code 14) through the gateway: clientv3 sends a repeatable request again. */
export function isUnavailable(message: string): boolean {
  return /^HTTP 503: .*"code": ?14\b/.test(message);
}

/** A range as clientv3 sends it: again after Unavailable, up to 5 times, 25 ms apart. */
async function rangeWithRetry(
  credentials: { certPem: string; keyPem: string; caPem: string },
  url: string,
  key: string,
  retried: () => void,
): Promise<Record<string, unknown>> {
  for (let attempt = 0;; attempt++) {
    try {
      return await gateway(credentials, `${url}/v3/kv/range`, { key });
    } catch (error) {
      if (attempt >= 5 || !isUnavailable(errorText(error))) throw error;
      retried();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Starts the probe: one write and one read through every member every `intervalMs`. */
export function startEtcdProbe(cluster: TestCluster, intervalMs = 250): EtcdProbe {
  const started = Date.now();
  const counts: EtcdProbeCounts = {
    members: {},
    leaderSamples: 0,
    leaderless: 0,
    leaders: [],
    leaderChanges: [],
    failures: [],
    roundsWithoutWrite: 0,
    rounds: 0,
    durationMs: 0,
  };
  const members = cluster.nodes.map((node) => ({
    name: node.name,
    root: node.root,
    url: `https://${node.ip}:2379`,
  }));
  for (const member of members) {
    counts.members[member.name] = {
      writes: 0,
      reads: 0,
      ok: 0,
      failures: { refused: 0, closed: 0, tls: 0, timeout: 0, http: 0, mismatch: 0, other: 0 },
      lastFailure: {},
      readRetries: 0,
      credentialMisses: 0,
    };
  }
  let running = true;
  let sequence = 0;

  const record = (
    member: string,
    request: EtcdFailure["request"],
    kind: EtcdFailureKind,
    message: string,
  ) => {
    const at = new Date().toISOString();
    counts.members[member].failures[kind]++;
    counts.members[member].lastFailure[kind] = `${at} ${message}`;
    counts.failures.push({ at, member, request, kind, message: message.slice(0, 200) });
  };
  const fail = (member: string, request: EtcdFailure["request"], error: unknown) => {
    const message = errorText(error);
    record(member, request, failureKind(message), message);
  };

  const writeAndRead = async (member: typeof members[number], value: string) => {
    const mine = counts.members[member.name];
    const key = b64(`/ca-rotator-probe/${member.name}`);
    let credentials;
    try {
      credentials = await apiServerEtcdCredentials(member.root);
    } catch {
      // A file being replaced at this very moment: read again next round.
      mine.credentialMisses++;
      return false;
    }
    mine.writes++;
    try {
      await gateway(credentials, `${member.url}/v3/kv/put`, { key, value: b64(value) });
    } catch (error) {
      fail(member.name, "put", error);
      return false;
    }
    mine.reads++;
    try {
      const answer = await rangeWithRetry(credentials, member.url, key, () => mine.readRetries++);
      const kvs = answer.kvs as { value?: string }[] | undefined;
      const got = kvs?.[0]?.value ? atob(kvs[0].value) : undefined;
      if (got !== value) throw new Error(`read ${got} after writing ${value}`);
      mine.ok++;
      return true;
    } catch (error) {
      const message = errorText(error);
      if (/after writing/.test(message)) record(member.name, "range", "mismatch", message);
      else fail(member.name, "range", error);
      return false;
    }
  };

  const observeLeader = async () => {
    const leaders = await Promise.all(members.map(async (member) => {
      try {
        const credentials = await apiServerEtcdCredentials(member.root);
        const status = await gateway(credentials, `${member.url}/v3/maintenance/status`, {});
        return String(status.leader ?? "0");
      } catch {
        return undefined;
      }
    }));
    counts.leaderSamples++;
    const named = leaders.filter((leader) => leader !== undefined && leader !== "0");
    if (named.length === 0) counts.leaderless++;
    for (const leader of named) if (!counts.leaders.includes(leader!)) counts.leaders.push(leader!);
    // The leader most members name; a change of it is a leader change.
    const most =
      named.sort((a, b) =>
        named.filter((x) => x === b).length - named.filter((x) => x === a).length
      )[0];
    const last = counts.leaderChanges.at(-1)?.leader;
    if (most !== undefined && most !== last) {
      counts.leaderChanges.push({ at: new Date().toISOString(), leader: most });
    }
  };

  const loop = (async () => {
    while (running) {
      const tick = Date.now();
      const value = `${++sequence}`;
      const [writes] = await Promise.all([
        Promise.all(members.map((member) => writeAndRead(member, value))),
        observeLeader(),
      ]);
      counts.rounds++;
      if (!writes.some(Boolean)) counts.roundsWithoutWrite++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - tick)))
      );
    }
  })();

  return {
    counts,
    async stop() {
      running = false;
      await loop;
      counts.durationMs = Date.now() - started;
      return counts;
    },
  };
}

/** One line of figures, for the test's output. */
export function describeEtcdCounts(counts: EtcdProbeCounts): string {
  const members = Object.entries(counts.members).map(([name, member]) => {
    const failed = Object.entries(member.failures).filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`).join(", ");
    return `${name}: ${member.writes} writes, ${member.reads} reads, ${member.ok} ok, ` +
      `${member.readRetries} reads sent again, ${member.credentialMisses} rounds without credentials` +
      (failed ? ` (failed: ${failed}; last of each: ${JSON.stringify(member.lastFailure)})` : "");
  });
  return `etcd probe over ${(counts.durationMs / 1000).toFixed(0)} s, ${counts.rounds} rounds ` +
    `(${counts.roundsWithoutWrite} without any write), ${counts.leaderSamples} leader samples ` +
    `(${counts.leaderless} leaderless, leaders seen: ${counts.leaders.length}); ` +
    members.join("; ") +
    `; leader changes: ${
      counts.leaderChanges.map((change) => `${change.at.slice(11, 23)} ${change.leader}`).join(", ")
    }`;
}
