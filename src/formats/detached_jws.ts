/**
 * Detached JWS signatures (RFC 7515, appendix F) as the controller-manager's bootstrap signer
 * writes them into `kube-public/cluster-info` under `jws-kubeconfig-<token-id>`: HS256 over the
 * ConfigMap's `kubeconfig`, keyed with the bootstrap token's secret, the token id as `kid`, the
 * payload left out (`<header>..<signature>`). The same computation as
 * `k8s.io/cluster-bootstrap/token/jws`, which `kubeadm join` checks the fetched kubeconfig with.
 * Nothing here returns or prints a token secret.
 * @module
 */

/** Why a detached signature does not verify, or `undefined` when it does. */
export type JwsProblem =
  | "malformed" // not `<header>..<signature>`, or the header is not base64url JSON
  | "algorithm" // the header's `alg` is not HS256
  | "key id" // the header's `kid` is not the token id
  | "signature"; // the signature does not match the content under the token secret

const encoder = new TextEncoder();

/** Bytes or text as unpadded base64url. */
export function base64Url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

async function hmacKey(tokenSecret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    encoder.encode(tokenSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [usage],
  );
}

/**
 * The detached signature the bootstrap signer writes for `content` under a token: the protected
 * header `{"alg":"HS256","kid":"<token id>"}` (keys sorted, as go-jose marshals it), two dots,
 * the HMAC-SHA256 of `<header>.<base64url(content)>`.
 */
export async function signDetachedJws(
  content: string,
  tokenId: string,
  tokenSecret: string,
): Promise<string> {
  const header = base64Url(JSON.stringify({ alg: "HS256", kid: tokenId }));
  const signature = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(tokenSecret, "sign"),
    encoder.encode(`${header}.${base64Url(content)}`),
  );
  return `${header}..${base64Url(new Uint8Array(signature))}`;
}

/**
 * Checks a detached signature of `content` under the token `tokenId`/`tokenSecret`: the header
 * must say HS256 and the token id, and the HMAC (compared in constant time by WebCrypto) must
 * match. Returns what is wrong, or `undefined` when it verifies.
 */
export async function detachedJwsProblem(
  content: string,
  signature: string,
  tokenId: string,
  tokenSecret: string,
): Promise<JwsProblem | undefined> {
  const parts = signature.trim().split(".");
  if (parts.length !== 3 || parts[1] !== "" || !parts[0] || !parts[2]) return "malformed";
  const headerBytes = fromBase64Url(parts[0]);
  const mac = fromBase64Url(parts[2]);
  if (!headerBytes || !mac) return "malformed";
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch {
    return "malformed";
  }
  if (typeof header !== "object" || header === null) return "malformed";
  const { alg, kid } = header as { alg?: unknown; kid?: unknown };
  if (alg !== "HS256") return "algorithm";
  if (kid !== tokenId) return "key id";
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(tokenSecret, "verify"),
    mac,
    encoder.encode(`${parts[0]}.${base64Url(content)}`),
  );
  return valid ? undefined : "signature";
}
