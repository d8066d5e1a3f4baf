/**
 * An emulated kubelet for one node root W: the kubelet's API-facing behaviour without pods.
 *
 * - Reads W/etc/kubernetes/kubelet.conf (server, CA, client certificate — normally the
 *   W/var/lib/kubelet/pki/kubelet-client-current.pem link) and W/var/lib/kubelet/config.yaml
 *   (`rotateCertificates`, and `authentication.x509.clientCAFile`, which must hold a
 *   certificate, or the kubelet does not start) at start and on each restart only
 *   (kubelet_config.ts).
 * - Registers its Node if missing, renews its Lease in kube-node-lease every heartbeat and
 *   posts the Ready condition (kubelet_heartbeat.ts), all authenticated as
 *   `system:node:<name>` with its client certificate and trusting only the CA of its
 *   kubelet.conf (kubelet_api_client.ts). When that stops working (the API no longer trusts
 *   the certificate, or it no longer trusts the API's serving certificate), the failures are
 *   counted and the node goes NotReady.
 * - Rotates the client certificate like the kubelet's certificate manager: once
 *   NotBefore + jittered 70–90 % of the lifetime has passed, a new ECDSA key and a CSR for
 *   signer `kubernetes.io/kube-apiserver-client-kubelet`, created as itself; when the
 *   controller-manager has approved and signed it the certificate and key are written to
 *   kubelet-client-<time>.pem and kubelet-client-current.pem is pointed at it
 *   (kubelet_cert_manager.ts, kubelet_cert_store.ts).
 * - Triggers (node access can use them): `touch W/var/run/kubelet/restart` restarts it;
 *   `touch W/var/run/kubelet/rotate` forces a rotation (ignored when rotation is off)
 *   (kubelet_triggers.ts).
 * - Reports in W/var/run/kubelet/status.json ({@linkcode KubeletStatus}, kubelet_status.ts).
 * @module
 */
import { KubeletApiClient } from "./kubelet_api_client.ts";
import { ClientCertificateManager } from "./kubelet_cert_manager.ts";
import { loadKubeletConfig } from "./kubelet_config.ts";
import { NodeHeartbeat, type NodeRegistration } from "./kubelet_heartbeat.ts";
import { type KubeletStatus, KubeletStatusReport } from "./kubelet_status.ts";
import { KubeletTriggers } from "./kubelet_triggers.ts";

/** Options of {@linkcode EmulatedKubelet}. */
export interface EmulatedKubeletOptions extends NodeRegistration {
  /** Node name. */
  nodeName: string;
  /** Node root. */
  root: string;
  /** Seconds between heartbeats. */
  heartbeatSeconds: number;
  /** Receives one line per event. */
  log: (line: string) => void;
  /** Seconds to wait for a CSR to be signed before giving up on it. */
  csrTimeoutSeconds?: number;
}

/** An emulated kubelet; see the module documentation. */
export class EmulatedKubelet {
  #o: EmulatedKubeletOptions;
  #report: KubeletStatusReport;
  #triggers: KubeletTriggers;
  #api: KubeletApiClient;
  #heartbeat: NodeHeartbeat;
  #certificates: ClientCertificateManager;
  #stopping = false;
  #loop?: Promise<void>;
  #wake?: () => void;

  /** Creates a kubelet; call {@linkcode start}. */
  constructor(options: EmulatedKubeletOptions) {
    this.#o = options;
    const { nodeName, root } = options;
    const log = (line: string) => this.#log(line);
    this.#report = new KubeletStatusReport({ nodeName, root, log });
    this.#triggers = new KubeletTriggers(root);
    this.#api = new KubeletApiClient({ nodeName, counter: this.#report });
    this.#heartbeat = new NodeHeartbeat({
      nodeName,
      labels: options.labels,
      annotations: options.annotations,
      addresses: options.addresses,
      kubeletVersion: options.kubeletVersion,
      api: this.#api,
      log,
    });
    this.#certificates = new ClientCertificateManager({
      nodeName,
      root,
      api: this.#api,
      triggers: this.#triggers,
      status: this.#report.status,
      log,
      stopping: () => this.#stopping,
      settled: () => this.#writeStatus(),
      csrTimeoutSeconds: options.csrTimeoutSeconds,
    });
  }

  /** Current status (a copy). */
  get status(): KubeletStatus {
    return structuredClone(this.#report.status);
  }

  /** Loads its files and starts the heartbeat loop. */
  async start(): Promise<void> {
    await this.#triggers.init();
    await this.#load();
    this.#loop = this.#run();
  }

  /** Stops the loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#api.close();
  }

  #log(line: string) {
    this.#o.log(`[kubelet ${this.#o.nodeName}] ${line}`);
  }

  /**
   * (Re)reads config.yaml, the client CA file it names, kubelet.conf and the client
   * certificate. Like the kubelet, it does not start (no requests at all) when one of them
   * cannot be used; `running` says whether it did.
   */
  async #load() {
    const status = this.#report.status;
    this.#api.disconnect();
    status.running = false;
    const loaded = await loadKubeletConfig(this.#o.root);
    if (loaded.config) Object.assign(status, loaded.config);
    if (loaded.notStarted !== undefined) {
      this.#report.recordError("http", `kubelet not started: ${loaded.notStarted}`, false);
      return await this.#writeStatus();
    }
    status.server = loaded.credentials.server;
    this.#api.connect(loaded.credentials);
    status.running = true;
    status.lastError = null;
    await this.#certificates.describe();
  }

  async #run() {
    while (!this.#stopping) {
      if (this.#triggers.restartRequested()) {
        this.#report.status.restarts++;
        this.#report.status.lastRestartAt = new Date().toISOString();
        this.#log("restarting (restart trigger)");
        this.#certificates.retryNow();
        await this.#load();
      }
      if (this.#api.connected) {
        await this.#heartbeat.beat();
        this.#certificates.maybeRotate();
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

  async #writeStatus() {
    try {
      await this.#report.write();
    } catch (error) {
      if (!this.#stopping) this.#log(`cannot write status: ${(error as Error).message}`);
    }
  }
}
