/**
 * API errors as a person reads them: the client library's `ApiException` carries the HTTP code,
 * the raw body and every response header in its message; ca-rotator shows the API server's own
 * sentence instead (`deployments.apps "web" is forbidden: User "…" cannot update resource …`),
 * with the code and reason, and keeps the code where `apiStatus` finds it.
 * @module
 */

/** An API server's answer to a failed request. */
export class KubeApiError extends Error {
  constructor(
    /** The HTTP status code (what `apiStatus` reads). */
    readonly code: number,
    /** The Status reason, e.g. `Forbidden`, `Conflict`, when the server gave one. */
    readonly reason: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KubeApiError";
  }
}

interface StatusBody {
  message?: unknown;
  reason?: unknown;
}

function statusOf(body: unknown): StatusBody | undefined {
  if (typeof body === "string") {
    try {
      return statusOf(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? body as StatusBody : undefined;
}

/**
 * `error` as a {@linkcode KubeApiError} when it is an HTTP error of the API (a numeric `code` and a
 * `body`), naming `request` (e.g. `update Deployment team-a/web`) when the server's Status says
 * nothing; any other error as it is.
 */
export function readableApiError(error: unknown, request: string): unknown {
  if (error instanceof KubeApiError || !(error instanceof Error)) return error;
  const { code, body } = error as Error & { code?: unknown; body?: unknown };
  if (typeof code !== "number" || body === undefined) return error;
  const status = statusOf(body);
  const reason = typeof status?.reason === "string" && status.reason ? status.reason : undefined;
  const said = typeof status?.message === "string" && status.message
    ? status.message
    : `${request}: ${String(typeof body === "string" ? body : JSON.stringify(body)).slice(0, 300)}`;
  return new KubeApiError(code, reason, `HTTP ${code}${reason ? ` ${reason}` : ""}: ${said}`, {
    cause: error,
  });
}
