import assert from "node:assert/strict";
import {
  assessRotation,
  lifetimeMs,
  ROTATION_THRESHOLD_MAX,
  ROTATION_THRESHOLD_MIN,
  rotationDeadline,
  rotationWindow,
} from "./window.ts";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);
/** A certificate valid 1000 s from T0: the window is 700 s … 900 s. */
const cert = { notBefore: at(0), notAfter: at(1000) };
/** A one-year kubeadm kubelet certificate. */
const year = { notBefore: at(0), notAfter: at(365 * 86400) };

Deno.test("rotationDeadline is NotBefore + (0.7 + 0.2 × jitter) × lifetime", () => {
  assert.equal(ROTATION_THRESHOLD_MIN, 0.7);
  assert.equal(ROTATION_THRESHOLD_MAX, 0.9);
  assert.equal(lifetimeMs(cert), 1_000_000);
  assert.deepEqual(rotationDeadline(cert, 0), at(700));
  assert.deepEqual(rotationDeadline(cert, 0.5), at(800));
  assert.deepEqual(rotationDeadline(cert, 0.25), at(750));
  assert.deepEqual(rotationDeadline(cert, 1), at(900));
  // a year: 255.5 days … 328.5 days after NotBefore
  assert.deepEqual(rotationDeadline(year, 0), at(255.5 * 86400));
  assert.deepEqual(rotationDeadline(year, 1), at(328.5 * 86400));
  assert.throws(() => rotationDeadline(cert, 1.5), RangeError);
  assert.throws(() => rotationDeadline(cert, -0.1), RangeError);
});

Deno.test("rotationWindow spans 70 % … 90 % of the lifetime", () => {
  assert.deepEqual(rotationWindow(cert), { earliest: at(700), latest: at(900) });
  const offset = { notBefore: at(100), notAfter: at(300) }; // 200 s lifetime
  assert.deepEqual(rotationWindow(offset), { earliest: at(240), latest: at(280) });
});

Deno.test("assessRotation: before the window, rotation is scheduled from 70 % to 90 %", () => {
  const a = assessRotation({
    validity: cert,
    now: at(100),
    rotationEnabled: true,
    deadline: at(950),
  });
  assert.equal(a.timing, "before-window");
  assert.deepEqual(a.rotatesFrom, at(700));
  assert.deepEqual(a.rotatesBy, at(900));
  assert.equal(a.byDeadline, "yes");
  assert.equal(a.notYetValidByMs, undefined);
});

Deno.test("assessRotation: the deadline against the window (yes, maybe, no)", () => {
  const assess = (deadline: number) =>
    assessRotation({ validity: cert, now: at(100), rotationEnabled: true, deadline: at(deadline) })
      .byDeadline;
  assert.equal(assess(900), "yes"); // exactly at 90 %: surely rotated
  assert.equal(assess(899.999), "maybe");
  assert.equal(assess(700), "maybe"); // exactly at 70 %: may have rotated
  assert.equal(assess(699.999), "no");
  // default deadline is now: a certificate before its window does not fit
  assert.equal(
    assessRotation({ validity: cert, now: at(100), rotationEnabled: true }).byDeadline,
    "no",
  );
});

Deno.test("assessRotation: inside the window the rotation may come any moment, by 90 %", () => {
  const a = assessRotation({
    validity: cert,
    now: at(750),
    rotationEnabled: true,
    deadline: at(800),
  });
  assert.equal(a.timing, "in-window");
  assert.deepEqual(a.rotatesFrom, at(750));
  assert.deepEqual(a.rotatesBy, at(900));
  assert.equal(a.byDeadline, "maybe");
  assert.equal(
    assessRotation({ validity: cert, now: at(700), rotationEnabled: true }).timing,
    "in-window",
  );
});

Deno.test("assessRotation: past 90 % the kubelet rotates immediately (at its next sync)", () => {
  const a = assessRotation({ validity: cert, now: at(950), rotationEnabled: true });
  assert.equal(a.timing, "due");
  assert.deepEqual(a.rotatesFrom, at(950));
  assert.deepEqual(a.rotatesBy, at(950));
  assert.equal(a.byDeadline, "yes");
  assert.equal(
    assessRotation({ validity: cert, now: at(900), rotationEnabled: true }).timing,
    "due",
  );
  // the 2017 manager checked hourly: due means "within the sync period"
  const hourly = assessRotation({
    validity: year,
    now: at(330 * 86400),
    rotationEnabled: true,
    syncSlackMs: 3600_000,
    deadline: at(330 * 86400 + 1800),
  });
  assert.equal(hourly.timing, "due");
  assert.deepEqual(hourly.rotatesBy, at(330 * 86400 + 3600));
  assert.equal(hourly.byDeadline, "maybe");
});

Deno.test("assessRotation: slack moves the end of the window", () => {
  const a = assessRotation({
    validity: cert,
    now: at(100),
    rotationEnabled: true,
    syncSlackMs: 60_000,
    deadline: at(930),
  });
  assert.deepEqual(a.rotatesBy, at(960));
  assert.equal(a.byDeadline, "maybe");
});

Deno.test("assessRotation: an expired certificate is not rotated (the kubelet cannot authenticate)", () => {
  const a = assessRotation({ validity: cert, now: at(1000), rotationEnabled: true });
  assert.equal(a.timing, "expired");
  assert.equal(a.rotatesBy, undefined);
  assert.equal(a.byDeadline, undefined);
  assert.deepEqual(a.window, { earliest: at(700), latest: at(900) });
});

Deno.test("assessRotation: rotation off means no rotation at all, whatever the window", () => {
  for (const now of [100, 800, 950, 1200]) {
    const a = assessRotation({ validity: cert, now: at(now), rotationEnabled: false });
    assert.equal(a.timing, "rotation-off");
    assert.equal(a.rotatesBy, undefined);
    assert.equal(a.byDeadline, undefined);
  }
});

Deno.test("assessRotation: unknown rotation setting is predicted as on", () => {
  const a = assessRotation({ validity: cert, now: at(100), rotationEnabled: undefined });
  assert.equal(a.timing, "before-window");
});

Deno.test("assessRotation: a bootstrap certificate rotates at once, long before 70 %", () => {
  // a bootstrap client certificate valid a day, seen one minute after issue
  const bootstrap = { notBefore: at(0), notAfter: at(86400) };
  const a = assessRotation({
    validity: bootstrap,
    now: at(60),
    rotationEnabled: true,
    bootstrap: true,
  });
  assert.equal(a.timing, "bootstrap");
  assert.deepEqual(a.rotatesBy, at(60));
  assert.equal(a.byDeadline, "yes");
  // …but not when rotation is off, nor once expired
  assert.equal(
    assessRotation({ validity: bootstrap, now: at(60), rotationEnabled: false, bootstrap: true })
      .timing,
    "rotation-off",
  );
  assert.equal(
    assessRotation({ validity: bootstrap, now: at(86401), rotationEnabled: true, bootstrap: true })
      .timing,
    "expired",
  );
});

Deno.test("assessRotation: NotBefore in the future is reported as clock skew", () => {
  // signer's clock 120 s ahead: the certificate starts at T0+120 s while we are at T0
  const skewed = { notBefore: at(120), notAfter: at(1120) };
  const a = assessRotation({
    validity: skewed,
    now: at(0),
    rotationEnabled: true,
    deadline: at(2000),
  });
  assert.equal(a.notYetValidByMs, 120_000);
  assert.equal(a.timing, "before-window");
  assert.deepEqual(a.window, { earliest: at(820), latest: at(1020) });
  assert.deepEqual(a.rotatesFrom, at(820));
  assert.deepEqual(a.rotatesBy, at(1020));
});

Deno.test("assessRotation: an empty or inverted validity is treated as expired", () => {
  const empty = { notBefore: at(10), notAfter: at(10) };
  const a = assessRotation({ validity: empty, now: at(0), rotationEnabled: true });
  assert.equal(a.timing, "expired");
  assert.equal(a.window, undefined);
});
