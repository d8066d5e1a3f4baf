/**
 * Reads and edits the kubelet's configuration file (/var/lib/kubelet/config.yaml): the client
 * CA it trusts and whether it rotates its client certificate.
 * @module
 */
import { parseDocument } from "yaml";

function parse(text: string, path: string) {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`${path}: not valid YAML: ${document.errors[0].message}`);
  }
  return document;
}

/** The facts of a kubelet configuration that a CA rotation cares about. */
export interface KubeletConfigFacts {
  /** `authentication.x509.clientCAFile`. */
  readonly clientCAFile?: string;
  /** `rotateCertificates` (false when absent, as the kubelet defaults it). */
  readonly rotateCertificates: boolean;
}

/** Reads the facts of a kubelet configuration. */
export function kubeletConfigFacts(text: string, path = "kubelet config"): KubeletConfigFacts {
  const document = parse(text, path);
  const clientCAFile = document.getIn(["authentication", "x509", "clientCAFile"]);
  return {
    clientCAFile: typeof clientCAFile === "string" ? clientCAFile : undefined,
    rotateCertificates: document.get("rotateCertificates") === true,
  };
}

/** The configuration with `authentication.x509.clientCAFile` set. */
export function setKubeletClientCAFile(
  text: string,
  file: string,
  path = "kubelet config",
): string {
  const document = parse(text, path);
  document.setIn(["authentication", "x509", "clientCAFile"], file);
  return document.toString({ indentSeq: false });
}
