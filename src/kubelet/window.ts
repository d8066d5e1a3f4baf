/**
 * The kubelet certificate manager's rotation arithmetic (client-go `util/certificate`): a client
 * certificate is rotated once `NotBefore + jitter(70 % … 90 %) × lifetime` has passed, where the
 * jitter is `wait.Jitter(lifetime, 0.2) − 0.3 × lifetime`. Pure: no clock, no I/O.
 * @module
 */

/** The fraction of the lifetime at which the earliest possible rotation deadline falls. */
export const ROTATION_THRESHOLD_MIN = 0.7;

/** The fraction of the lifetime at which the latest possible rotation deadline falls. */
export const ROTATION_THRESHOLD_MAX = 0.9;

/** A certificate's validity period. */
export interface CertValidity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The span in which a kubelet's rotation deadline lies. */
export interface RotationWindow {
  /** NotBefore + 70 % of the lifetime. */
  readonly earliest: Date;
  /** NotBefore + 90 % of the lifetime. */
  readonly latest: Date;
}

/** The lifetime of a certificate in milliseconds (NotAfter − NotBefore). */
export function lifetimeMs(validity: CertValidity): number {
  return validity.notAfter.getTime() - validity.notBefore.getTime();
}

/**
 * The deadline the certificate manager draws for one jitter value `jitter` in [0, 1) (Go's
 * `rand.Float64()`): NotBefore + (0.7 + 0.2 × jitter) × lifetime.
 */
export function rotationDeadline(validity: CertValidity, jitter: number): Date {
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`jitter must be in [0, 1], got ${jitter}`);
  }
  const fraction = ROTATION_THRESHOLD_MIN +
    (ROTATION_THRESHOLD_MAX - ROTATION_THRESHOLD_MIN) * jitter;
  return new Date(validity.notBefore.getTime() + fraction * lifetimeMs(validity));
}

/** The earliest and latest deadline the certificate manager can draw for a certificate. */
export function rotationWindow(validity: CertValidity): RotationWindow {
  return { earliest: rotationDeadline(validity, 0), latest: rotationDeadline(validity, 1) };
}

/**
 * Where a certificate stands in its rotation at a moment:
 * - `rotation-off`: `rotateCertificates` is off; the kubelet never renews it.
 * - `expired`: NotAfter has passed; the kubelet can no longer authenticate to ask for a new one.
 * - `bootstrap`: a bootstrap certificate (or one that does not match the kubelet's CSR
 *   template); the manager rotates it at once, well before any threshold.
 * - `due`: past the 90 % mark; rotates immediately (at the next sync).
 * - `in-window`: between 70 % and 90 %; may rotate any moment, at the latest at 90 %.
 * - `before-window`: before 70 %.
 */
export type RotationTiming =
  | "rotation-off"
  | "expired"
  | "bootstrap"
  | "due"
  | "in-window"
  | "before-window";

/** Whether a rotation happens by a deadline: surely, possibly (window straddles it), or not. */
export type DeadlineFit = "yes" | "maybe" | "no";

/** What {@link assessRotation} needs. */
export interface RotationInput {
  readonly validity: CertValidity;
  readonly now: Date;
  /** `rotateCertificates`; `undefined` when unknown (predicted as if on). */
  readonly rotationEnabled: boolean | undefined;
  /** The certificate is a bootstrap certificate, which the manager rotates at once. */
  readonly bootstrap?: boolean;
  /** The time by which the rotation should have happened. Default: `now`. */
  readonly deadline?: Date;
  /**
   * How long after its deadline the kubelet may take to rotate: 0 for the client-go manager,
   * which sleeps until its deadline; its sync period (1 h) for the 2017 manager, which checked
   * hourly. Default 0.
   */
  readonly syncSlackMs?: number;
}

/** The assessment of one certificate. */
export interface RotationAssessment {
  readonly timing: RotationTiming;
  /** The 70–90 % window (absent for a certificate with no lifetime). */
  readonly window?: RotationWindow;
  /** The earliest time the kubelet may rotate (absent when it will not rotate by itself). */
  readonly rotatesFrom?: Date;
  /** The time by which the kubelet will have rotated (absent when it will not rotate). */
  readonly rotatesBy?: Date;
  /** Whether the rotation falls by the deadline (absent when the kubelet will not rotate). */
  readonly byDeadline?: DeadlineFit;
  /** When NotBefore is after `now`: by how much (clock skew between signer and verifier). */
  readonly notYetValidByMs?: number;
}

/** Assesses when, if at all, the kubelet will rotate a certificate, relative to `deadline`. */
export function assessRotation(input: RotationInput): RotationAssessment {
  const { validity, now } = input;
  const deadline = input.deadline ?? now;
  const slack = input.syncSlackMs ?? 0;
  const t = now.getTime();
  const lifetime = lifetimeMs(validity);
  const window = lifetime > 0 ? rotationWindow(validity) : undefined;
  const skew = validity.notBefore.getTime() - t;
  const base = {
    ...(window ? { window } : {}),
    ...(skew > 0 ? { notYetValidByMs: skew } : {}),
  };
  if (input.rotationEnabled === false) return { timing: "rotation-off", ...base };
  if (t >= validity.notAfter.getTime() || !window) return { timing: "expired", ...base };

  const fit = (from: Date, by: Date): DeadlineFit =>
    by.getTime() <= deadline.getTime()
      ? "yes"
      : from.getTime() <= deadline.getTime()
      ? "maybe"
      : "no";
  const scheduled = (timing: RotationTiming, from: Date, by: Date): RotationAssessment => ({
    timing,
    ...base,
    rotatesFrom: from,
    rotatesBy: by,
    byDeadline: fit(from, by),
  });

  if (input.bootstrap) return scheduled("bootstrap", now, new Date(t + slack));
  if (t >= window.latest.getTime()) return scheduled("due", now, new Date(t + slack));
  const by = new Date(window.latest.getTime() + slack);
  if (t >= window.earliest.getTime()) return scheduled("in-window", now, by);
  return scheduled("before-window", window.earliest, by);
}
