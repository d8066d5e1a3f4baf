/**
 * The emulated kubelet's connection to the API server: requests authenticated with the client
 * certificate of its kubelet.conf and trusting only that file's CA, each failure classified
 * by kind ({@linkcode FailureKind}) and counted.
 * @module
 */
import type { KubeconfigCredentials } from "./kubeconfig_credentials.ts";

/** What rustls says when a certificate is not trusted, on either side of the handshake. */
export const TRUST_FAILURE =
  /invalid peer certificate|UnknownIssuer|BadSignature|NotValidForName|CertExpired|alert: (BadCertificate|UnknownCA|CertificateUnknown|UnsupportedCertificate)/;

/** Kinds of failed API requests. */
export type FailureKind = "unauthorized" | "forbidden" | "tls" | "connection" | "timeout" | "http";

/** A failed API request, already counted when it is made. */
export class ApiError extends Error {
  /** Creates the error of a failed request. */
  constructor(readonly kind: FailureKind, message: string, readonly status?: number) {
    super(message);
  }
}

/** Counts the requests of a {@linkcode KubeletApiClient}. */
export interface RequestCounter {
  /** A request is being made. */
  requested(): void;
  /** A request succeeded. */
  succeeded(): void;
  /** A request failed. */
  failed(kind: FailureKind, message: string): void;
}

/** Options of {@linkcode KubeletApiClient}. */
export interface KubeletApiClientOptions {
  /** Node name (in the user agent). */
  nodeName: string;
  /** Counts requests, successes and failures. */
  counter: RequestCounter;
}

/** The kubelet's API client; requests fail with an {@linkcode ApiError} until it is connected. */
export class KubeletApiClient {
  #o: KubeletApiClientOptions;
  #credentials?: KubeconfigCredentials;
  #client?: Deno.HttpClient;

  /** Creates a client that is not connected yet. */
  constructor(options: KubeletApiClientOptions) {
    this.#o = options;
  }

  /** The credentials connected with (they outlive {@linkcode close}). */
  get credentials(): KubeconfigCredentials | undefined {
    return this.#credentials;
  }

  /** Whether requests can be made. */
  get connected(): boolean {
    return this.#client !== undefined && this.#credentials !== undefined;
  }

  /** (Re)connects with these credentials; the old connections are dropped. */
  connect(credentials: KubeconfigCredentials): void {
    this.#credentials = credentials;
    this.#client?.close();
    this.#client = Deno.createHttpClient({
      caCerts: credentials.caPems,
      cert: credentials.certPem,
      key: credentials.keyPem,
    });
  }

  /** Drops the connections and forgets the credentials. */
  disconnect(): void {
    this.close();
    this.#credentials = undefined;
  }

  /** Drops the connections; the credentials stay. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  /**
   * Makes a request (a JSON body, by default as `application/json`). Connection, TLS and
   * timeout failures, 401, 403 and 5xx responses are counted and thrown as
   * {@linkcode ApiError}s; any other response is returned.
   */
  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<Response> {
    if (!this.#client || !this.#credentials) {
      throw new ApiError("http", "no credentials loaded");
    }
    this.#o.counter.requested();
    let response: Response | undefined;
    // Like client-go, an idempotent request whose connection broke (an API server behind the
    // load balancer went away) is retried once on a new connection.
    for (let attempt = 0; !response; attempt++) {
      try {
        response = await fetch(new URL(path, this.#credentials.server), {
          method,
          client: this.#client,
          headers: {
            "accept": "application/json",
            "user-agent": `kubelet/emulated (${this.#o.nodeName})`,
            ...(body === undefined ? {} : { "content-type": contentType ?? "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (error) {
        const cause = (error as Error).cause;
        const message = [(error as Error).message ?? String(error), cause ? String(cause) : ""]
          .filter(Boolean).join(": ");
        const kind: FailureKind = (error as Error).name === "TimeoutError"
          ? "timeout"
          // A certificate that was not trusted: the server's (rustls' "invalid peer
          // certificate: UnknownIssuer" …) or this kubelet's (a certificate alert). A handshake
          // cut short by a restarting API server ("tls handshake eof", a reset) is a connection
          // failure, and the request's URL (…/certificatesigningrequests) is no evidence.
          : TRUST_FAILURE.test(message)
          ? "tls"
          : "connection";
        if (kind === "connection" && attempt === 0 && method !== "POST") {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw this.fail(kind, `${method} ${path}: ${message}`);
      }
    }
    if (response.status === 401 || response.status === 403) {
      const text = await response.text();
      const kind = response.status === 401 ? "unauthorized" : "forbidden";
      throw this.fail(
        kind,
        `${method} ${path}: ${response.status} ${text.slice(0, 200)}`,
        response.status,
      );
    }
    if (response.status >= 500) {
      const text = await response.text();
      throw this.fail(
        "http",
        `${method} ${path}: ${response.status} ${text.slice(0, 200)}`,
        response.status,
      );
    }
    this.#o.counter.succeeded();
    return response;
  }

  /** Counts a failure and returns the error to throw. */
  fail(kind: FailureKind, message: string, status?: number): ApiError {
    this.#o.counter.failed(kind, message);
    return new ApiError(kind, message, status);
  }
}
