import assert from "node:assert/strict";
import {
  type Signer,
  signerPair,
  SIGNERS,
  signingFlagsFor,
} from "./_controller_manager_signing.ts";

const WHERE = "cp-1:/etc/kubernetes/manifests/kube-controller-manager.yaml";
const NEW = {
  "--cluster-signing-cert-file": "/etc/kubernetes/pki/ca.crt",
  "--cluster-signing-key-file": "/etc/kubernetes/pki/ca.key",
};

/** A manifest's flags with every per-signer pair on `cert`/`key`. */
function perSigner(
  cert: string,
  key: string,
  signers: readonly Signer[] = SIGNERS,
): Map<string, string> {
  return new Map(
    signers.flatMap((signer) => [[signerPair(signer).cert, cert], [signerPair(signer).key, key]]),
  );
}

Deno.test("signing flags: a manifest with the single pair gets the single pair", () => {
  const present = new Map([["--cluster-signing-cert-file", "/old/ca.crt"]]);
  present.set("--cluster-signing-key-file", "/old/ca.key");
  assert.deepEqual(signingFlagsFor(present, NEW, WHERE), NEW);
  assert.deepEqual(signingFlagsFor(new Map(), NEW, WHERE), NEW, "or none at all (kubeadm's)");
});

Deno.test("signing flags: a per-signer manifest gets each of its pairs switched, no single pair", () => {
  const present = perSigner("/etc/kubernetes/pki/ca-old.crt", "/etc/kubernetes/pki/ca-old.key", [
    "kubelet-client",
    "kube-apiserver-client",
  ]);
  present.set("--root-ca-file", "/etc/kubernetes/pki/ca.crt");
  const flags = signingFlagsFor(present, { ...NEW, "--v": "2" }, WHERE);
  assert.deepEqual(flags, {
    "--v": "2",
    "--cluster-signing-kubelet-client-cert-file": NEW["--cluster-signing-cert-file"],
    "--cluster-signing-kubelet-client-key-file": NEW["--cluster-signing-key-file"],
    "--cluster-signing-kube-apiserver-client-cert-file": NEW["--cluster-signing-cert-file"],
    "--cluster-signing-kube-apiserver-client-key-file": NEW["--cluster-signing-key-file"],
  });
  // Once switched, the same step finds the same flags: verify and a resumed run agree.
  const after = new Map([...present, ...Object.entries(flags)]);
  const { "--v": _, ...signing } = flags;
  assert.deepEqual(signingFlagsFor(after, NEW, WHERE), signing);
});

Deno.test("signing flags: what the controller-manager would refuse to start with is refused", () => {
  const both = perSigner("/a.crt", "/a.key", ["kubelet-client"]);
  both.set("--cluster-signing-cert-file", "/a.crt");
  both.set("--cluster-signing-key-file", "/a.key");
  assert.throws(
    () => signingFlagsFor(both, NEW, WHERE),
    /kube-controller-manager\.yaml sets both --cluster-signing-cert-file\/--cluster-signing-key-file and per-signer --cluster-signing-kubelet-client-cert-file: the controller-manager refuses/,
  );
  const half = new Map([["--cluster-signing-kubelet-serving-cert-file", "/a.crt"]]);
  assert.throws(
    () => signingFlagsFor(half, NEW, WHERE),
    /sets --cluster-signing-kubelet-serving-cert-file without --cluster-signing-kubelet-serving-key-file/,
  );
  const twoCas = perSigner("/a.crt", "/a.key", ["kubelet-client"]);
  twoCas.set("--cluster-signing-kubelet-serving-cert-file", "/serving-ca.crt");
  twoCas.set("--cluster-signing-kubelet-serving-key-file", "/serving-ca.key");
  assert.throws(
    () => signingFlagsFor(twoCas, NEW, WHERE),
    /signs with more than one CA \(\/serving-ca\.crt \+ \/serving-ca\.key; \/a\.crt \+ \/a\.key by signer\)|signs with more than one CA \(\/a\.crt \+ \/a\.key; \/serving-ca\.crt/,
  );
  // Naming the per-signer flags in the step is how such a controller-manager is rotated.
  const explicit = {
    "--cluster-signing-kubelet-client-cert-file": NEW["--cluster-signing-cert-file"],
    "--cluster-signing-kubelet-client-key-file": NEW["--cluster-signing-key-file"],
  };
  assert.deepEqual(signingFlagsFor(twoCas, explicit, WHERE), explicit);
});
