/**
 * An emulated kubelet for one node root W: the kubelet's API-facing behaviour without pods.
 *
 * - Reads W/etc/kubernetes/kubelet.conf (server, CA, client certificate — normally the
 *   W/var/lib/kubelet/pki/kubelet-client-current.pem link) and W/var/lib/kubelet/config.yaml
 *   (`rotateCertificates`, and `authentication.x509.clientCAFile`, which must hold a
 *   certificate, or the kubelet does not start) at start and on each restart only.
 * - Registers its Node if missing, renews its Lease in kube-node-lease every heartbeat and
 *   posts the Ready condition, all authenticated as `system:node:<name>` with its client
 *   certificate and trusting only the CA of its kubelet.conf. When that stops working (the
 *   API no longer trusts the certificate, or it no longer trusts the API's serving
 *   certificate), the failures are counted and the node goes NotReady.
 * - Rotates the client certificate like the kubelet's certificate manager: once
 *   NotBefore + jittered 70–90 % of the lifetime has passed, a new ECDSA key and a CSR for
 *   signer `kubernetes.io/kube-apiserver-client-kubelet`, created as itself; when the
 *   controller-manager has approved and signed it the certificate and key are written to
 *   kubelet-client-<time>.pem and kubelet-client-current.pem is pointed at it.
 * - Triggers (node access can use them): `touch W/var/run/kubelet/restart` restarts it;
 *   `touch W/var/run/kubelet/rotate` forces a rotation (ignored when rotation is off).
 * - Reports in W/var/run/kubelet/status.json ({@linkcode KubeletStatus}).
 * @module
 */
import { join } from "node:path";
import { parse } from "yaml";
import { type KubeconfigCredentials, loadKubeconfigCredentials } from "./kubeconfig_credentials.ts";
import {
  type CertSummary,
  createCsr,
  fingerprint,
  nodeSubject,
  pemBlocks,
  rotationDeadline,
  summarizeCertificate,
  validity,
} from "./kubelet_pki.ts";
import { hostPath } from "./path_map.ts";
import { writeJsonAtomic } from "./state.ts";

/** Node path of the kubelet's kubeconfig. */
export const KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.conf";
/** Node path of the kubelet's configuration file. */
export const KUBELET_CONFIG = "/var/lib/kubelet/config.yaml";
/** Node path of the kubelet's certificate directory. */
export const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";
/** Node path of the link to the current client certificate and key. */
export const KUBELET_CLIENT_CURRENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";
/** Node path of the emulated kubelet's run directory (triggers and status). */
export const KUBELET_RUN_DIR = "/var/run/kubelet";

/** What rustls says when a certificate is not trusted, on either side of the handshake. */
export const TRUST_FAILURE =
  /invalid peer certificate|UnknownIssuer|BadSignature|NotValidForName|CertExpired|alert: (BadCertificate|UnknownCA|CertificateUnknown|UnsupportedCertificate)/;

/** Kinds of failed API requests. */
export type FailureKind = "unauthorized" | "forbidden" | "tls" | "connection" | "timeout" | "http";

/** What W/var/run/kubelet/status.json says. */
export interface KubeletStatus {
  /** Node name. */
  node: string;
  /** API server URL from kubelet.conf. */
  server: string;
  /** Whether the last (re)start succeeded (config.yaml, clientCAFile and kubelet.conf usable). */
  running: boolean;
  /** `rotateCertificates` from config.yaml when last (re)started. */
  rotateCertificates: boolean;
  /** `authentication.x509.clientCAFile` from config.yaml (node path). */
  clientCAFile: string | null;
  /** SHA-256 fingerprints of the certificates in the client CA file. */
  clientCAFingerprints: string[];
  /** ISO time of the first start. */
  startedAt: string;
  /** Number of restarts (restart trigger). */
  restarts: number;
  /** ISO time of the last (re)start. */
  lastRestartAt: string;
  /** API requests made. */
  requests: number;
  /** API requests that failed. */
  failures: number;
  /** Failures since the last success. */
  consecutiveFailures: number;
  /** Failures by kind (`unauthorized` = HTTP 401, `tls` = API serving certificate not trusted …). */
  failuresByKind: Record<FailureKind, number>;
  /** The last error message of each kind that occurred. */
  lastErrorByKind: Partial<Record<FailureKind, string>>;
  /** ISO time of the last successful request. */
  lastSuccessAt: string | null;
  /** The last error. */
  lastError: string | null;
  /** ISO time of the last error. */
  lastErrorAt: string | null;
  /** Node path of the current client certificate file. */
  certPath: string | null;
  /** The current client certificate. */
  cert: CertSummary | null;
  /** Same as `cert.notAfter`. */
  certNotAfter: string | null;
  /** Same as `cert.issuerFingerprint`: SHA-256 of the CA that signed the current certificate. */
  issuerFingerprint: string | null;
  /** When the certificate manager will rotate (null when rotation is off). */
  nextRotationAt: string | null;
  /** Completed rotations. */
  rotations: number;
  /** ISO time of the last completed rotation. */
  lastRotationAt: string | null;
  /** Name of the CSR of the last rotation (or of the one in flight). */
  lastCsr: string | null;
  /** Why the last rotation attempt failed. */
  lastRotationError: string | null;
  /** ISO time of this report. */
  updatedAt: string;
}

/** Options of {@linkcode EmulatedKubelet}. */
export interface EmulatedKubeletOptions {
  /** Node name. */
  nodeName: string;
  /** Node root. */
  root: string;
  /** Seconds between heartbeats. */
  heartbeatSeconds: number;
  /** Labels the Node is registered with (registration only happens when it is missing). */
  labels?: Record<string, string>;
  /** Annotations the Node is registered with. */
  annotations?: Record<string, string>;
  /** Addresses the Node is registered with (`status.addresses`). */
  addresses?: { type: string; address: string }[];
  /** Kubelet version the Node is registered with (`status.nodeInfo.kubeletVersion`). */
  kubeletVersion?: string;
  /** Receives one line per event. */
  log: (line: string) => void;
  /** Seconds to wait for a CSR to be signed before giving up on it. */
  csrTimeoutSeconds?: number;
}

class ApiError extends Error {
  constructor(readonly kind: FailureKind, message: string, readonly status?: number) {
    super(message);
  }
}

/** An emulated kubelet; see the module documentation. */
export class EmulatedKubelet {
  #o: EmulatedKubeletOptions;
  #status: KubeletStatus;
  #creds?: KubeconfigCredentials;
  #client?: Deno.HttpClient;
  #deadline?: Date;
  #rotating = false;
  #stopping = false;
  #loop?: Promise<void>;
  #restartMtime: number | null = null;
  #lastStatusPost = 0;
  #rotationRetryAt = 0;
  #rotationFailures = 0;
  #wake?: () => void;

  /** Creates a kubelet; call {@linkcode start}. */
  constructor(options: EmulatedKubeletOptions) {
    this.#o = options;
    const now = new Date().toISOString();
    this.#status = {
      node: options.nodeName,
      server: "",
      running: false,
      rotateCertificates: false,
      clientCAFile: null,
      clientCAFingerprints: [],
      startedAt: now,
      restarts: 0,
      lastRestartAt: now,
      requests: 0,
      failures: 0,
      consecutiveFailures: 0,
      failuresByKind: { unauthorized: 0, forbidden: 0, tls: 0, connection: 0, timeout: 0, http: 0 },
      lastErrorByKind: {},
      lastSuccessAt: null,
      lastError: null,
      lastErrorAt: null,
      certPath: null,
      cert: null,
      certNotAfter: null,
      issuerFingerprint: null,
      nextRotationAt: null,
      rotations: 0,
      lastRotationAt: null,
      lastCsr: null,
      lastRotationError: null,
      updatedAt: now,
    };
  }

  /** Current status (a copy). */
  get status(): KubeletStatus {
    return structuredClone(this.#status);
  }

  /** Loads its files and starts the heartbeat loop. */
  async start(): Promise<void> {
    await Deno.mkdir(this.#path(KUBELET_RUN_DIR), { recursive: true });
    this.#restartMtime = this.#mtime("restart");
    await this.#load();
    this.#loop = this.#run();
  }

  /** Stops the loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#client?.close();
    this.#client = undefined;
  }

  #path(nodePath: string): string {
    return hostPath(this.#o.root, nodePath);
  }

  #log(line: string) {
    this.#o.log(`[kubelet ${this.#o.nodeName}] ${line}`);
  }

  #mtime(trigger: string): number | null {
    try {
      return Deno.statSync(join(this.#path(KUBELET_RUN_DIR), trigger)).mtime?.getTime() ?? 0;
    } catch {
      return null;
    }
  }

  /**
   * (Re)reads config.yaml, the client CA file it names, kubelet.conf and the client
   * certificate. Like the kubelet, it does not start (no requests at all) when one of them
   * cannot be used; `running` says whether it did.
   */
  async #load() {
    this.#client?.close();
    this.#client = undefined;
    this.#creds = undefined;
    this.#status.running = false;
    const notStarted = async (why: string) => {
      this.#recordError("http", `kubelet not started: ${why}`, false);
      await this.#writeStatus();
    };
    let config: Record<string, unknown>;
    try {
      config = parse(await Deno.readTextFile(this.#path(KUBELET_CONFIG))) ?? {};
    } catch (error) {
      return await notStarted(`cannot read ${KUBELET_CONFIG}: ${(error as Error).message}`);
    }
    this.#status.rotateCertificates = config.rotateCertificates === true;
    const auth = config.authentication as { x509?: { clientCAFile?: string } } | undefined;
    const clientCAFile = auth?.x509?.clientCAFile ?? null;
    this.#status.clientCAFile = clientCAFile;
    this.#status.clientCAFingerprints = [];
    if (clientCAFile) {
      let pems: string[];
      try {
        pems = pemBlocks(await Deno.readTextFile(this.#path(clientCAFile)), "CERTIFICATE");
      } catch (error) {
        return await notStarted(`clientCAFile ${clientCAFile}: ${(error as Error).message}`);
      }
      if (pems.length === 0) {
        return await notStarted(`clientCAFile ${clientCAFile} holds no certificate`);
      }
      this.#status.clientCAFingerprints = await Promise.all(pems.map((p) => fingerprint(p)));
    }
    try {
      this.#creds = await loadKubeconfigCredentials(this.#o.root, KUBELET_KUBECONFIG);
    } catch (error) {
      return await notStarted((error as Error).message);
    }
    this.#status.server = this.#creds.server;
    this.#client = Deno.createHttpClient({
      caCerts: this.#creds.caPems,
      cert: this.#creds.certPem,
      key: this.#creds.keyPem,
    });
    this.#status.running = true;
    this.#status.lastError = null;
    await this.#describeCert();
  }

  async #describeCert() {
    if (!this.#creds) return;
    const leaf = pemBlocks(this.#creds.certPem, "CERTIFICATE")[0];
    this.#status.certPath = this.#creds.certPath ?? null;
    this.#status.cert = await summarizeCertificate(leaf, await this.#knownCas());
    this.#status.certNotAfter = this.#status.cert.notAfter;
    this.#status.issuerFingerprint = this.#status.cert.issuerFingerprint;
    const { notBefore, notAfter } = validity(leaf);
    this.#deadline = rotationDeadline(notBefore, notAfter);
    this.#status.nextRotationAt = this.#status.rotateCertificates
      ? this.#deadline.toISOString()
      : null;
  }

  /** CA certificates on the node that may have signed the client certificate. */
  async #knownCas(): Promise<string[]> {
    const cas = [...(this.#creds?.caPems ?? [])];
    const pki = this.#path("/etc/kubernetes/pki");
    try {
      for await (const entry of Deno.readDir(pki)) {
        if (entry.isFile && entry.name.endsWith(".crt")) {
          cas.push(...pemBlocks(await Deno.readTextFile(join(pki, entry.name)), "CERTIFICATE"));
        }
      }
    } catch {
      // no PKI directory on this node
    }
    return cas;
  }

  async #run() {
    while (!this.#stopping) {
      const mtime = this.#mtime("restart");
      if (mtime !== null && mtime !== this.#restartMtime) {
        this.#restartMtime = mtime;
        this.#status.restarts++;
        this.#status.lastRestartAt = new Date().toISOString();
        this.#log("restarting (restart trigger)");
        this.#rotationRetryAt = 0;
        await this.#load();
      }
      if (this.#client) {
        await this.#heartbeat();
        this.#maybeRotate();
      }
      await this.#writeStatus();
      await new Promise<void>((resolve) => {
        // stop() may have come while this iteration ran, before there was a wait to cut short.
        if (this.#stopping) return resolve();
        const timer = setTimeout(resolve, this.#o.heartbeatSeconds * 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<Response> {
    if (!this.#client || !this.#creds) throw new ApiError("http", "no credentials loaded");
    this.#status.requests++;
    let response: Response | undefined;
    // Like client-go, an idempotent request whose connection broke (an API server behind the
    // load balancer went away) is retried once on a new connection.
    for (let attempt = 0; !response; attempt++) {
      try {
        response = await fetch(new URL(path, this.#creds.server), {
          method,
          client: this.#client,
          headers: {
            "accept": "application/json",
            "user-agent": `kubelet/emulated (${this.#o.nodeName})`,
            ...(body === undefined ? {} : { "content-type": contentType ?? "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        const cause = (error as Error).cause;
        const message = [(error as Error).message ?? String(error), cause ? String(cause) : ""]
          .filter(Boolean).join(": ");
        const kind: FailureKind = (error as Error).name === "TimeoutError"
          ? "timeout"
          // A certificate that was not trusted: the server's (rustls' "invalid peer
          // certificate: UnknownIssuer" …) or this kubelet's (a certificate alert). A handshake
          // cut short by a restarting API server ("tls handshake eof", a reset) is a connection
          // failure, and the request's URL (…/certificatesigningrequests) is no evidence.
          : TRUST_FAILURE.test(message)
          ? "tls"
          : "connection";
        if (kind === "connection" && attempt === 0 && method !== "POST") {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw this.#fail(kind, `${method} ${path}: ${message}`);
      }
    }
    if (response.status === 401 || response.status === 403) {
      const text = await response.text();
      const kind = response.status === 401 ? "unauthorized" : "forbidden";
      throw this.#fail(
        kind,
        `${method} ${path}: ${response.status} ${text.slice(0, 200)}`,
        response.status,
      );
    }
    if (response.status >= 500) {
      const text = await response.text();
      throw this.#fail(
        "http",
        `${method} ${path}: ${response.status} ${text.slice(0, 200)}`,
        response.status,
      );
    }
    this.#status.consecutiveFailures = 0;
    this.#status.lastSuccessAt = new Date().toISOString();
    return response;
  }

  #fail(kind: FailureKind, message: string, status?: number): ApiError {
    this.#recordError(kind, message, true);
    return new ApiError(kind, message, status);
  }

  #recordError(kind: FailureKind, message: string, counted: boolean) {
    if (counted) {
      this.#status.failures++;
      this.#status.consecutiveFailures++;
      this.#status.failuresByKind[kind]++;
      this.#status.lastErrorByKind[kind] = message;
    }
    if (this.#status.lastError !== message) this.#log(`error: ${message}`);
    this.#status.lastError = message;
    this.#status.lastErrorAt = new Date().toISOString();
  }

  async #heartbeat() {
    const name = this.#o.nodeName;
    try {
      // Node: register if missing, post Ready when it is not (or every minute).
      const nodeResponse = await this.#request("GET", `/api/v1/nodes/${name}`);
      let node: { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      if (nodeResponse.status === 404) {
        await nodeResponse.body?.cancel();
        const created = await this.#request("POST", "/api/v1/nodes", {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name, labels: this.#o.labels ?? {}, annotations: this.#o.annotations ?? {} },
          status: {
            ...(this.#o.addresses ? { addresses: this.#o.addresses } : {}),
            ...(this.#o.kubeletVersion
              ? { nodeInfo: { kubeletVersion: this.#o.kubeletVersion } }
              : {}),
          },
        });
        if (created.status >= 300) {
          throw this.#fail("http", `register node: ${created.status} ${await created.text()}`);
        }
        await created.body?.cancel();
        this.#log("registered node");
      } else if (nodeResponse.ok) {
        node = await nodeResponse.json();
      } else {
        throw this.#fail("http", `get node: ${nodeResponse.status} ${await nodeResponse.text()}`);
      }

      const now = new Date();
      const renewTime = microTime(now);
      const lease = await this.#request(
        "PATCH",
        `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`,
        { spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } },
        "application/merge-patch+json",
      );
      if (lease.status === 404) {
        await lease.body?.cancel();
        const created = await this.#request(
          "POST",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace: "kube-node-lease" },
            spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
          },
        );
        if (created.status >= 300) {
          throw this.#fail("http", `create lease: ${created.status} ${await created.text()}`);
        }
        await created.body?.cancel();
      } else if (!lease.ok) {
        throw this.#fail("http", `renew lease: ${lease.status} ${await lease.text()}`);
      } else {
        await lease.body?.cancel();
      }

      const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
      // Until the runtime (kwok) has initialised the node's status there is no Ready to keep.
      if (ready && (ready.status !== "True" || now.getTime() - this.#lastStatusPost > 60_000)) {
        const condition = {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status (emulated)",
          lastHeartbeatTime: now.toISOString().replace(/\.\d+Z$/, "Z"),
          ...(ready.status === "True"
            ? {}
            : { lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, "Z") }),
        };
        const patched = await this.#request(
          "PATCH",
          `/api/v1/nodes/${name}/status`,
          { status: { conditions: [condition] } },
          "application/strategic-merge-patch+json",
        );
        if (!patched.ok) {
          throw this.#fail("http", `post node status: ${patched.status} ${await patched.text()}`);
        }
        await patched.body?.cancel();
        this.#lastStatusPost = now.getTime();
        if (ready.status !== "True") this.#log("posted Ready");
      }
    } catch (error) {
      // ApiErrors are counted where they are made; anything else is a bug worth seeing
      if (!(error instanceof ApiError)) this.#recordError("http", String(error), true);
    }
  }

  #maybeRotate() {
    if (this.#rotating || !this.#creds) return;
    const forced = this.#mtime("rotate") !== null;
    if (!this.#status.rotateCertificates) {
      if (forced) {
        this.#log("rotate trigger ignored: rotateCertificates is false");
        Deno.removeSync(join(this.#path(KUBELET_RUN_DIR), "rotate"));
      }
      return;
    }
    const now = Date.now();
    if (
      !forced && (!this.#deadline || now < this.#deadline.getTime() || now < this.#rotationRetryAt)
    ) return;
    if (forced) Deno.removeSync(join(this.#path(KUBELET_RUN_DIR), "rotate"));
    this.#rotating = true;
    this.#log(
      forced
        ? "rotating client certificate (forced)"
        : "rotating client certificate (deadline passed)",
    );
    this.#rotate().then(
      () => {
        this.#rotationFailures = 0;
        this.#status.lastRotationError = null;
      },
      (error) => {
        this.#rotationFailures++;
        const wait = Math.min(5_000 * 2 ** (this.#rotationFailures - 1), 60_000);
        this.#rotationRetryAt = Date.now() + wait;
        this.#status.lastRotationError = (error as Error).message;
        this.#log(`rotation failed (retry in ${wait / 1000}s): ${(error as Error).message}`);
      },
    ).finally(() => {
      this.#rotating = false;
      this.#writeStatus();
    });
  }

  async #rotate() {
    const { csrPem, keyPem } = await createCsr(nodeSubject(this.#o.nodeName));
    const created = await this.#request(
      "POST",
      "/apis/certificates.k8s.io/v1/certificatesigningrequests",
      {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { generateName: "csr-" },
        spec: {
          request: btoa(csrPem),
          signerName: "kubernetes.io/kube-apiserver-client-kubelet",
          usages: ["digital signature", "client auth"],
        },
      },
    );
    if (created.status !== 201) {
      throw new Error(`create CSR: ${created.status} ${await created.text()}`);
    }
    const csr = await created.json() as { metadata: { name: string; uid: string } };
    const csrName = csr.metadata.name;
    this.#status.lastCsr = csrName;
    this.#log(`created CSR ${csrName}`);
    const timeoutAt = Date.now() + (this.#o.csrTimeoutSeconds ?? 300) * 1000;
    let certPem: string | undefined;
    while (!this.#stopping && Date.now() < timeoutAt) {
      await new Promise((r) => setTimeout(r, 1000));
      let r: Response;
      try {
        r = await this.#request(
          "GET",
          `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}`,
        );
      } catch {
        continue;
      }
      if (!r.ok) throw new Error(`get CSR ${csrName}: ${r.status} ${await r.text()}`);
      const got = await r.json() as {
        status?: {
          certificate?: string;
          conditions?: { type: string; reason?: string; message?: string }[];
        };
      };
      const conditions = got.status?.conditions ?? [];
      const bad = conditions.find((c) => c.type === "Denied" || c.type === "Failed");
      if (bad) {
        throw new Error(`CSR ${csrName} ${bad.type}: ${bad.reason ?? ""} ${bad.message ?? ""}`);
      }
      if (conditions.some((c) => c.type === "Approved") && got.status?.certificate) {
        certPem = new TextDecoder().decode(
          Uint8Array.from(atob(got.status.certificate), (c) => c.charCodeAt(0)),
        );
        break;
      }
    }
    if (!certPem) throw new Error(`CSR ${csrName} was not signed in time`);
    const file = await storeClientCertificate(this.#o.root, certPem, keyPem);
    this.#status.rotations++;
    this.#status.lastRotationAt = new Date().toISOString();
    this.#log(`rotated client certificate: ${file} (CSR ${csrName})`);
    // Like the kubelet, use the new certificate at once and drop the old connections.
    this.#creds = { ...this.#creds!, certPem, keyPem };
    this.#client?.close();
    this.#client = Deno.createHttpClient({
      caCerts: this.#creds.caPems,
      cert: certPem,
      key: keyPem,
    });
    await this.#describeCert();
  }

  async #writeStatus() {
    this.#status.updatedAt = new Date().toISOString();
    try {
      await writeJsonAtomic(join(this.#path(KUBELET_RUN_DIR), "status.json"), this.#status);
    } catch (error) {
      if (!this.#stopping) this.#log(`cannot write status: ${(error as Error).message}`);
    }
  }
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Stores a client certificate and key as the kubelet's certificate store does:
 * W/var/lib/kubelet/pki/kubelet-client-<YYYY-MM-DD-HH-MM-SS>.pem (certificate, then key;
 * mode 0600) and the link kubelet-client-current.pem pointing at it (a relative link, so
 * that it resolves inside the node root). Returns the node path of the new file.
 */
export async function storeClientCertificate(
  root: string,
  certPem: string,
  keyPem: string,
  now: Date = new Date(),
): Promise<string> {
  const dir = hostPath(root, KUBELET_PKI_DIR);
  await Deno.mkdir(dir, { recursive: true });
  const stamp = now.toISOString().slice(0, 19).replace(/[T:]/g, "-");
  let name = `kubelet-client-${stamp}.pem`;
  for (let i = 1; await exists(join(dir, name)); i++) name = `kubelet-client-${stamp}-${i}.pem`;
  await Deno.writeTextFile(join(dir, name), certPem + keyPem, { mode: 0o600 });
  await Deno.chmod(join(dir, name), 0o600);
  const tmp = join(dir, `.kubelet-client-current.pem.${crypto.randomUUID()}`);
  await Deno.symlink(name, tmp);
  await Deno.rename(tmp, join(dir, "kubelet-client-current.pem"));
  return `${KUBELET_PKI_DIR}/${name}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
