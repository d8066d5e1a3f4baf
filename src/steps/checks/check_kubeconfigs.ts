/**
 * The `kubeconfigs` check: the control-plane kubeconfigs ({@link CONTROL_PLANE_KUBECONFIGS})
 * hold the trust set the phase expects as certificate-authority-data, and, from switch on,
 * client certificates issued by the new CA.
 * @module
 */
import { kubeconfigCaData, kubeconfigClientCert } from "../../formats/kubeconfig_file.ts";
import { CONTROL_PLANE_KUBECONFIGS, kubeconfigPath } from "../../plan/node_paths.ts";
import { fingerprintsOf, issuedBy, parseCertificate, sameFingerprints } from "../../pki/mod.ts";
import { trustSetName } from "../_root_ca_configmaps.ts";
import { trustPem } from "../trust_sets.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

/** Reads the control-plane kubeconfigs of every control-plane node. */
export async function checkKubeconfigs(facts: CheckFacts): Promise<CheckFindings> {
  const { ctx, expectations, labels } = facts;
  const set = expectations.kubeconfigCa;
  const expected = await fingerprintsOf(await trustPem(ctx, "cluster", set));
  const newCa = parseCertificate(facts.newPem);
  const describe = (prints: readonly string[]) =>
    prints.map((print) => labels[print] ?? `CA sha256:${print.slice(0, 16)}`).join(" + ") ||
    "nothing";
  const problems: string[] = [];
  let checked = 0;
  for (const node of ctx.controlPlane) {
    for (const { file, required } of CONTROL_PLANE_KUBECONFIGS) {
      const path = kubeconfigPath(ctx.layout, file);
      const where = `${node.name}:${path}`;
      const text = await node.readFile(path);
      if (text === undefined) {
        if (required) problems.push(`${where}: missing`);
        continue;
      }
      checked++;
      for (const data of kubeconfigCaData(text, where)) {
        const held = await fingerprintsOf(data);
        if (!sameFingerprints(held, expected)) {
          problems.push(
            `${where}: certificate-authority-data holds ${describe(held)}, not ${
              trustSetName(set)
            }`,
          );
        }
      }
      if (!expectations.clientCertsByNewCa) continue;
      const client = kubeconfigClientCert(text, where);
      const certPem = client.certPem ??
        (client.certFile ? await node.readFile(client.certFile) : undefined);
      if (certPem === undefined) continue;
      const cert = parseCertificate(certPem, where);
      if (!(await issuedBy(cert, newCa))) {
        problems.push(`${where}: client certificate "${cert.subject}" is not issued by the new CA`);
      }
    }
  }
  return {
    summary:
      `${checked} kubeconfigs on ${
        plural(ctx.controlPlane.length, "control-plane node")
      } checked for ${trustSetName(set)}` +
      (expectations.clientCertsByNewCa ? " and new-CA client certificates" : ""),
    problems,
    notes: [],
  };
}
