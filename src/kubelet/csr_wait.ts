/**
 * Waits for a CertificateSigningRequest to reach a state, by watching it (a field-selected watch
 * on its name, re-established when the server closes it), and approves one through the
 * `approval` subresource. The client library is loaded on first use, so that loading a plan
 * (validate) does not.
 * @module
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { apiStatus } from "../engine/cluster_api.ts";
import type { CsrObject } from "./csr_index.ts";

const CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests";

/**
 * Watches CSR `name` until `until` holds for it; resolves with the CSR then, or with `undefined`
 * when `timeoutMs` passes first. A deleted CSR is an error.
 */
export async function waitForCsr(
  config: KubeConfig,
  name: string,
  until: (csr: CsrObject) => boolean,
  timeoutMs: number,
): Promise<CsrObject | undefined> {
  const { Watch } = await import("@kubernetes/client-node");
  return await new Promise((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const settle = (error: Error | undefined, csr?: CsrObject) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(retry);
      controller?.abort();
      if (error) reject(error);
      else resolve(csr);
    };
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    const start = async () => {
      try {
        const started = await new Watch(config).watch(
          CSR_PATH,
          { fieldSelector: `metadata.name=${name}` },
          (phase, object: CsrObject) => {
            if (phase === "DELETED") {
              settle(new Error(`CertificateSigningRequest ${name} was deleted`));
            } else if ((phase === "ADDED" || phase === "MODIFIED") && until(object)) {
              settle(undefined, object);
            }
          },
          () => {
            // the server ended the watch (timeout, restart): watch again
            if (!settled) retry = setTimeout(start, 250);
          },
        );
        if (settled) started.abort();
        else controller = started;
      } catch {
        if (!settled) retry = setTimeout(start, 500);
      }
    };
    start();
  });
}

/**
 * Approves CSR `name` through its `approval` subresource (as `kubectl certificate approve`),
 * retrying on conflicts. A CSR already approved is left as it is.
 */
export async function approveCsr(
  config: KubeConfig,
  name: string,
  reason: string,
  message: string,
): Promise<void> {
  const { CertificatesV1Api } = await import("@kubernetes/client-node");
  const api = config.makeApiClient(CertificatesV1Api);
  for (let attempt = 1;; attempt++) {
    const csr = await api.readCertificateSigningRequest({ name });
    const conditions = csr.status?.conditions ?? [];
    if (conditions.some((c) => c.type === "Approved" && c.status === "True")) return;
    csr.status = {
      ...csr.status,
      conditions: [
        ...conditions,
        {
          type: "Approved",
          status: "True",
          reason,
          message,
          lastUpdateTime: new Date(),
        },
      ],
    };
    try {
      await api.replaceCertificateSigningRequestApproval({ name, body: csr });
      return;
    } catch (error) {
      if (apiStatus(error) !== 409 || attempt >= 5) throw error;
    }
  }
}
