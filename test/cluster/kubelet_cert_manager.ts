/**
 * The emulated kubelet's client-certificate manager, like the kubelet's: once NotBefore +
 * jittered 70–90 % of the lifetime has passed (or when the rotate trigger is there), a new
 * ECDSA key and a CSR for signer `kubernetes.io/kube-apiserver-client-kubelet`, created as
 * itself; when the controller-manager has approved and signed it the certificate and key are
 * written to kubelet-client-<time>.pem, kubelet-client-current.pem is pointed at it and the
 * API client switches to it. A failed rotation is retried with back-off (5 s doubling, at
 * most 60 s).
 * @module
 */
import { join } from "node:path";
import type { KubeletApiClient } from "./kubelet_api_client.ts";
import { storeClientCertificate } from "./kubelet_cert_store.ts";
import {
  createCsr,
  nodeSubject,
  pemBlocks,
  rotationDeadline,
  summarizeCertificate,
  validity,
} from "./kubelet_pki.ts";
import type { KubeletStatus } from "./kubelet_status.ts";
import type { KubeletTriggers } from "./kubelet_triggers.ts";
import { hostPath } from "./path_map.ts";

/** Options of {@linkcode ClientCertificateManager}. */
export interface ClientCertificateManagerOptions {
  /** Node name (the CSR's subject is `system:node:<name>`). */
  nodeName: string;
  /** Node root. */
  root: string;
  /** The kubelet's API client: the CSR is made with it, and it is switched to the new certificate. */
  api: KubeletApiClient;
  /** The rotate trigger. */
  triggers: KubeletTriggers;
  /** The kubelet's status: the certificate, `nextRotationAt` and the rotation fields are kept in it. */
  status: KubeletStatus;
  /** Receives one line per event. */
  log: (line: string) => void;
  /** Whether the kubelet is stopping (a CSR is no longer waited for). */
  stopping: () => boolean;
  /** Called when a rotation has ended, successfully or not. */
  settled: () => void;
  /** Seconds to wait for a CSR to be signed before giving up on it. */
  csrTimeoutSeconds?: number;
}

/** Rotates one kubelet's client certificate; see the module documentation. */
export class ClientCertificateManager {
  #o: ClientCertificateManagerOptions;
  #deadline?: Date;
  #rotating = false;
  #retryAt = 0;
  #failures = 0;

  /** Creates the manager; call {@linkcode describe} once the API client is connected. */
  constructor(options: ClientCertificateManagerOptions) {
    this.#o = options;
  }

  /** Forgets the back-off of a failed rotation (the kubelet restarted). */
  retryNow(): void {
    this.#retryAt = 0;
  }

  /**
   * Records the current client certificate (of the API client's credentials) in the status
   * and schedules its rotation.
   */
  async describe(): Promise<void> {
    const credentials = this.#o.api.credentials;
    if (!credentials) return;
    const status = this.#o.status;
    const leaf = pemBlocks(credentials.certPem, "CERTIFICATE")[0];
    status.certPath = credentials.certPath ?? null;
    status.cert = await summarizeCertificate(leaf, await this.#knownCas());
    status.certNotAfter = status.cert.notAfter;
    status.issuerFingerprint = status.cert.issuerFingerprint;
    const { notBefore, notAfter } = validity(leaf);
    this.#deadline = rotationDeadline(notBefore, notAfter);
    status.nextRotationAt = status.rotateCertificates ? this.#deadline.toISOString() : null;
  }

  /**
   * Starts a rotation in the background when one is due (deadline passed and no back-off) or
   * forced by the rotate trigger, and none is running. The trigger is removed once acted on,
   * and ignored (removed too) when `rotateCertificates` is off.
   */
  maybeRotate(): void {
    const { api, triggers, status } = this.#o;
    if (this.#rotating || !api.credentials) return;
    const forced = triggers.rotationRequested();
    if (!status.rotateCertificates) {
      if (forced) {
        this.#o.log("rotate trigger ignored: rotateCertificates is false");
        triggers.clearRotation();
      }
      return;
    }
    const now = Date.now();
    if (!forced && (!this.#deadline || now < this.#deadline.getTime() || now < this.#retryAt)) {
      return;
    }
    if (forced) triggers.clearRotation();
    this.#rotating = true;
    this.#o.log(
      forced
        ? "rotating client certificate (forced)"
        : "rotating client certificate (deadline passed)",
    );
    this.#rotate().then(
      () => {
        this.#failures = 0;
        status.lastRotationError = null;
      },
      (error) => {
        this.#failures++;
        const wait = Math.min(5_000 * 2 ** (this.#failures - 1), 60_000);
        this.#retryAt = Date.now() + wait;
        status.lastRotationError = (error as Error).message;
        this.#o.log(`rotation failed (retry in ${wait / 1000}s): ${(error as Error).message}`);
      },
    ).finally(() => {
      this.#rotating = false;
      this.#o.settled();
    });
  }

  /** CA certificates on the node that may have signed the client certificate. */
  async #knownCas(): Promise<string[]> {
    const cas = [...(this.#o.api.credentials?.caPems ?? [])];
    const pki = hostPath(this.#o.root, "/etc/kubernetes/pki");
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

  async #rotate() {
    const { api, status } = this.#o;
    const { csrName, certPem, keyPem } = await this.#requestCertificate();
    const file = await storeClientCertificate(this.#o.root, certPem, keyPem);
    status.rotations++;
    status.lastRotationAt = new Date().toISOString();
    this.#o.log(`rotated client certificate: ${file} (CSR ${csrName})`);
    // Like the kubelet, use the new certificate at once and drop the old connections.
    api.connect({ ...api.credentials!, certPem, keyPem });
    await this.describe();
  }

  /** The CSR flow: a new key, a CSR created as this node, waited for until signed. */
  async #requestCertificate(): Promise<{ csrName: string; certPem: string; keyPem: string }> {
    const { api, status } = this.#o;
    const { csrPem, keyPem } = await createCsr(nodeSubject(this.#o.nodeName));
    const created = await api.request(
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
    status.lastCsr = csrName;
    this.#o.log(`created CSR ${csrName}`);
    const timeoutAt = Date.now() + (this.#o.csrTimeoutSeconds ?? 300) * 1000;
    while (!this.#o.stopping() && Date.now() < timeoutAt) {
      await new Promise((r) => setTimeout(r, 1000));
      let r: Response;
      try {
        r = await api.request(
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
        const certPem = new TextDecoder().decode(
          Uint8Array.from(atob(got.status.certificate), (c) => c.charCodeAt(0)),
        );
        return { csrName, certPem, keyPem };
      }
    }
    throw new Error(`CSR ${csrName} was not signed in time`);
  }
}
