import { TRUST_FAILURE } from "./kubelet_api_client.ts";

Deno.test("only certificate errors count as trust failures, not the URL of a refused request", () => {
  const refusedCsr =
    "POST /apis/certificates.k8s.io/v1/certificatesigningrequests: fetch failed: " +
    "error sending request for url (https://198.18.200.3:6443/apis/certificates.k8s.io/v1/" +
    "certificatesigningrequests): client error (Connect): tcp connect error: Connection refused";
  if (TRUST_FAILURE.test(refusedCsr)) throw new Error("a refused connection counted as trust");
  if (TRUST_FAILURE.test("client error (Connect): tls handshake eof")) {
    throw new Error("a handshake cut short counted as trust");
  }
  for (
    const trust of [
      "client error (Connect): invalid peer certificate: UnknownIssuer",
      "client error (Connect): invalid peer certificate: BadSignature",
      "client error (Connect): received fatal alert: BadCertificate",
    ]
  ) if (!TRUST_FAILURE.test(trust)) throw new Error(`not counted as trust: ${trust}`);
});
