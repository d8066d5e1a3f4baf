/**
 * What a node's kubelet (kubelet-client, programs/cmd/kubelet-client/status.go) reports in
 * W/var/run/kubelet/status.json: its configuration, its client certificate and rotations, and
 * the counters of its API requests and their failures. It writes the file every second and at
 * once when its certificate changes.
 * @module
 */
import type { CertSummary } from "./kubelet_pki.ts";

/** Node path of the kubelets' run directory: status.json and the trigger files. */
export const KUBELET_RUN_DIR = "/var/run/kubelet";

/** Node path of the kubelet's status file. */
export const KUBELET_STATUS_FILE = `${KUBELET_RUN_DIR}/status.json`;

/** Touching `W/var/run/kubelet/restart` restarts the kubelet (its files are re-read). */
export const KUBELET_RESTART_TRIGGER = `${KUBELET_RUN_DIR}/restart`;

/** Creating `W/var/run/kubelet/rotate` forces a rotation (ignored when rotation is off). */
export const KUBELET_ROTATE_TRIGGER = `${KUBELET_RUN_DIR}/rotate`;

/** Kinds of failed API requests. */
export type FailureKind = "unauthorized" | "forbidden" | "tls" | "connection" | "timeout" | "http";

/** What W/var/run/kubelet/status.json says. */
export interface KubeletStatus {
  /** Node name. */
  node: string;
  /** `kubelet-client`. */
  program: string;
  /** Process id of the kubelet. */
  pid: number;
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
  /** Number of restarts (restart trigger; a forced rotation restarts without counting). */
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
  /** NotBefore + 70 % and + 90 % of the current certificate's lifetime (null when rotation is off). */
  rotationWindow: { earliest: string; latest: string } | null;
  /**
   * The rotation deadline the certificate manager drew for the current certificate, from its
   * log line "Certificate rotation deadline determined" (null when rotation is off).
   */
  nextRotationAt: string | null;
  /** ISO time the certificate manager last began a rotation (its "Rotating certificates"). */
  rotationStartedAt: string | null;
  /** Completed rotations. */
  rotations: number;
  /** ISO time of the last completed rotation. */
  lastRotationAt: string | null;
  /** Name of the CSR of the last rotation (or of the one in flight). */
  lastCsr: string | null;
  /** Why the last rotation attempt failed. */
  lastRotationError: string | null;
  /**
   * The serving endpoint (serverTLSBootstrap; absent otherwise): where it listens, whether it
   * does now, and each span a restart closed it, from the restart until it listened again
   * (`to` null while closed).
   */
  serving?: {
    address: string;
    listening: boolean;
    downtimes: { from: string; to: string | null }[];
  };
  /** ISO time of this report. */
  updatedAt: string;
}
