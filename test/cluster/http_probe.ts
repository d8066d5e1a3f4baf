/**
 * The kubelet's HTTP probe: a GET that succeeds with a status in 200..399; HTTPS servers'
 * certificates are not verified (the kubelet does not verify them either).
 * @module
 */
import http from "node:http";
import https from "node:https";

/** Where and how to probe. */
export interface ProbeTarget {
  /** `HTTP` or `HTTPS`. */
  scheme: "HTTP" | "HTTPS";
  /** Host address. */
  host: string;
  /** Port. */
  port: number;
  /** Path. */
  path: string;
  /** Timeout in milliseconds. */
  timeoutMs: number;
}

/** Probes once; resolves `true` for a 2xx/3xx answer, `false` otherwise (never throws). */
export function httpProbe(target: ProbeTarget): Promise<boolean> {
  return new Promise((resolve) => {
    const lib = target.scheme === "HTTPS" ? https : http;
    let settled = false;
    const done = (ok: boolean) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    try {
      const req = lib.request(
        {
          host: target.host,
          port: target.port,
          path: target.path,
          method: "GET",
          timeout: target.timeoutMs,
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          res.on("end", () => done(status >= 200 && status < 400));
          res.on("error", () => done(false));
        },
      );
      req.on("timeout", () => {
        req.destroy();
        done(false);
      });
      req.on("error", () => done(false));
      req.end();
    } catch {
      done(false);
    }
  });
}
