/**
 * What an emulated kubelet reports in W/var/run/kubelet/status.json: its configuration, its
 * client certificate and rotations, and the counters of its API requests and their failures.
 * @module
 */
import type { FailureKind, RequestCounter } from "./kubelet_api_client.ts";
import type { CertSummary } from "./kubelet_pki.ts";
import { KUBELET_RUN_DIR } from "./kubelet_triggers.ts";
import { hostPath } from "./path_map.ts";
import { writeJsonAtomic } from "./state.ts";

/** Node path of the emulated kubelet's status file. */
export const KUBELET_STATUS_FILE = `${KUBELET_RUN_DIR}/status.json`;

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

/** The status of a kubelet that has not started yet. */
export function initialKubeletStatus(node: string, now: Date = new Date()): KubeletStatus {
  const iso = now.toISOString();
  return {
    node,
    server: "",
    running: false,
    rotateCertificates: false,
    clientCAFile: null,
    clientCAFingerprints: [],
    startedAt: iso,
    restarts: 0,
    lastRestartAt: iso,
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
    updatedAt: iso,
  };
}

/** Options of {@linkcode KubeletStatusReport}. */
export interface KubeletStatusReportOptions {
  /** Node name. */
  nodeName: string;
  /** Node root (the status file is written inside it). */
  root: string;
  /** Receives a line for each new error. */
  log: (line: string) => void;
}

/**
 * A kubelet's {@linkcode KubeletStatus}, which its parts update in place: it counts the API
 * requests and their failures and writes the status file.
 */
export class KubeletStatusReport implements RequestCounter {
  /** The status, updated in place. */
  readonly status: KubeletStatus;
  #o: KubeletStatusReportOptions;

  /** Creates the report of a kubelet that has not started yet. */
  constructor(options: KubeletStatusReportOptions) {
    this.#o = options;
    this.status = initialKubeletStatus(options.nodeName);
  }

  /** Counts a request. */
  requested(): void {
    this.status.requests++;
  }

  /** Records a successful request: the failures are no longer consecutive. */
  succeeded(): void {
    this.status.consecutiveFailures = 0;
    this.status.lastSuccessAt = new Date().toISOString();
  }

  /** Counts a failed request. */
  failed(kind: FailureKind, message: string): void {
    this.recordError(kind, message, true);
  }

  /**
   * Records an error as the last one (logged when it differs from the previous one); `counted`
   * also counts it as a failed request.
   */
  recordError(kind: FailureKind, message: string, counted: boolean): void {
    if (counted) {
      this.status.failures++;
      this.status.consecutiveFailures++;
      this.status.failuresByKind[kind]++;
      this.status.lastErrorByKind[kind] = message;
    }
    if (this.status.lastError !== message) this.#o.log(`error: ${message}`);
    this.status.lastError = message;
    this.status.lastErrorAt = new Date().toISOString();
  }

  /** Writes the status file (atomically), stamped with the current time. */
  async write(): Promise<void> {
    this.status.updatedAt = new Date().toISOString();
    await writeJsonAtomic(hostPath(this.#o.root, KUBELET_STATUS_FILE), this.status);
  }
}
