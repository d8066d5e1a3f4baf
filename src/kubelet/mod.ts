/**
 * The kubelet client-rotation verifier (DESIGN.md section 4): which CA issued each kubelet's
 * client certificate, when the kubelet will rotate it, the controller-manager's signer, forced
 * rotation through node access, and the gate before old-CA removal.
 * @module
 */
export * from "./window.ts";
export * from "./ca_trust.ts";
export * from "./certificate_cache.ts";
export * from "./csr_index.ts";
export * from "./signer.ts";
export * from "./report.ts";
export * from "./verdict.ts";
export * from "./build_report.ts";
export * from "./gate.ts";
export * from "./time_format.ts";
export * from "./render.ts";
export * from "./node_facts.ts";
export * from "./csr_wait.ts";
export * from "./force_rotation.ts";
export * from "./verifier.ts";
export * from "./serving_csr.ts";
export * from "./serving_verdict.ts";
