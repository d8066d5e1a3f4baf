/**
 * The serving-certificate gate's verdict, per node and for the cluster: which CA issued the
 * certificate a kubelet presents on its TLS endpoint (and the one on its disk), and whether the old
 * CA may leave the verifiers of serving certificates (the API server's
 * `--kubelet-certificate-authority`, metrics-server through `kube-root-ca.crt`). Pure.
 * @module
 */

/** Which CA issued a serving certificate, as seen by a TLS handshake or a file. */
export type ServingIssuer = "new" | "old" | "other";

/** What was seen of one node's kubelet serving certificate. */
export interface ServingFacts {
  readonly node: string;
  /** `address:port` of the kubelet's TLS endpoint (`undefined`: the Node publishes none). */
  readonly endpoint?: string;
  /** The issuer of the leaf the endpoint presents; `undefined` when it could not be reached. */
  readonly endpointIssuer?: ServingIssuer;
  /** Why the endpoint could not be reached (or why its issuer is `other`). */
  readonly endpointError?: string;
  /** The issuer of `kubelet-server-current.pem` on the node (`undefined`: not read or absent). */
  readonly fileIssuer?: ServingIssuer;
  /** The names of the node's pending kubelet-serving CSRs. */
  readonly pendingCsrs: readonly string[];
}

/** The verdict on one node. */
export interface ServingVerdict {
  readonly node: string;
  /** `ok`: nothing it presents needs the old CA; `blocking`: it does, or it is unknown. */
  readonly status: "ok" | "blocking";
  /** The issuer the verdict rests on: the endpoint's, else the file's; `unknown` when neither. */
  readonly issuer: ServingIssuer | "unknown";
  readonly message: string;
}

/**
 * Pure: the verdict on one node. The endpoint is what the verifiers see, so it decides; the file
 * decides only when the endpoint cannot be reached. A certificate of neither CA (self-signed, as
 * a kubelet without `serverTLSBootstrap` makes) does not hold the gate: no verifier of the
 * cluster CA can accept it before or after. A node whose certificate is unknown holds it.
 */
export function servingVerdict(facts: ServingFacts): ServingVerdict {
  const pending = facts.pendingCsrs.length ? `; pending CSR ${facts.pendingCsrs.join(", ")}` : "";
  const issuer = facts.endpointIssuer ?? facts.fileIssuer;
  const seen = facts.endpointIssuer !== undefined
    ? `presented on ${facts.endpoint}`
    : `on disk (endpoint ${facts.endpoint ?? "not published"}${
      facts.endpointError ? `: ${facts.endpointError}` : ""
    })`;
  const base = { node: facts.node, issuer: issuer ?? "unknown" } as const;
  if (issuer === "new") {
    return { ...base, status: "ok", message: `serving certificate of the new CA ${seen}` };
  }
  if (issuer === "old") {
    return {
      ...base,
      status: "blocking",
      message: `serving certificate of the old CA ${seen}${pending}`,
    };
  }
  if (issuer === "other") {
    return {
      ...base,
      status: "ok",
      message: `serving certificate of neither cluster CA ${seen} (self-signed?): ` +
        "not verified with the cluster CA",
    };
  }
  if (facts.endpoint === undefined) {
    return {
      ...base,
      status: "ok",
      message: "publishes no kubelet endpoint and has no serving certificate on disk",
    };
  }
  return {
    ...base,
    status: "blocking",
    message: `serving certificate unknown: endpoint ${facts.endpoint}: ${
      facts.endpointError ?? "not reached"
    }, and none read from the node${pending}`,
  };
}

/** The message of a closed gate, naming each blocking node; `undefined` when it is open. */
export function servingGateMessage(verdicts: readonly ServingVerdict[]): string | undefined {
  const blocking = verdicts.filter((v) => v.status === "blocking");
  if (!blocking.length) return undefined;
  return `${blocking.length} of ${verdicts.length} kubelet(s) do not serve with a certificate ` +
    "of the new CA yet; removing the old CA from --kubelet-certificate-authority or " +
    "kube-root-ca.crt now would break logs, exec and metrics on them: " +
    blocking.map((v) => `${v.node} (${v.message})`).join(", ") +
    " (approve their kubelet-serving CSRs: approveServingCsrs: true; or force their rotation: " +
    "forceRotation: true)";
}
