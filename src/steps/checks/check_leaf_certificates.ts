/**
 * The `leaf-certificates` check: from switch on, every kubeadm leaf certificate in the PKI
 * directory ({@link KUBEADM_LEAF_CERTIFICATES}) of every control-plane node is issued by the new CA
 * of the CA that issues it. A leaf left on the old CA breaks when that CA is removed: an
 * apiserver-kubelet-client certificate cuts the API servers off the kubelets, and a
 * front-proxy-client certificate makes aggregated API servers refuse every proxied request once
 * they trust the new front-proxy CA only.
 * @module
 */
import { KUBEADM_LEAF_CERTIFICATES, leafPaths } from "../../plan/node_paths.ts";
import { issuedBy, parseCertificate } from "../../pki/mod.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

const CONSEQUENCE: Record<string, string> = {
  "apiserver": "clients will refuse the API server once they trust the new CA only",
  "apiserver-kubelet-client":
    "kubelets will refuse the API servers once they trust the new CA only",
  "front-proxy-client":
    "aggregated API servers will refuse every proxied request once they trust the new front-proxy CA only",
};

/** Reads the leaf certificates of every control-plane node. */
export async function checkLeafCertificates(facts: CheckFacts): Promise<CheckFindings> {
  const { ctx, expectations } = facts;
  const rotating = Object.keys(ctx.cas.fingerprints());
  const leaves = KUBEADM_LEAF_CERTIFICATES.filter((leaf) => rotating.includes(leaf.ca));
  if (!expectations.clientCertsByNewCa) {
    return {
      summary: "leaf certificates are re-issued in switch: nothing to check yet",
      problems: [],
      notes: [],
    };
  }
  const problems: string[] = [];
  let checked = 0;
  for (const node of ctx.controlPlane) {
    for (const leaf of leaves) {
      const path = leafPaths(ctx.layout, leaf.name).cert;
      const text = await node.readFile(path);
      if (text === undefined) continue;
      checked++;
      const where = `${node.name}:${path}`;
      const cert = parseCertificate(text, where);
      const newCa = parseCertificate(ctx.cas.get(leaf.ca).certPem);
      if (!(await issuedBy(cert, newCa))) {
        problems.push(
          `${where}: "${cert.subject}" is not issued by the new ${leaf.ca} CA: ${
            CONSEQUENCE[leaf.name]
          } (re-issue it with a reissue-leaves step)`,
        );
      }
    }
  }
  return {
    summary: `${checked} leaf certificates on ${
      plural(ctx.controlPlane.length, "control-plane node")
    } issued by the new CAs`,
    problems,
    notes: [],
  };
}
