import assert from "node:assert/strict";
import { byMemberRestart, memberDownSpans } from "./etcd_members.ts";
import type { EtcdFailure } from "./etcd_probe.ts";

const failure = (member: string, at: string, kind: EtcdFailure["kind"]): EtcdFailure => ({
  at: `2026-12-07T12:${at}Z`,
  member,
  request: "put",
  kind,
  message: "",
});

Deno.test("a member's refused requests make one down span per restart", () => {
  const spans = memberDownSpans([
    failure("cp-2", "41:18.000", "refused"),
    failure("cp-1", "41:10.000", "refused"),
    failure("cp-1", "41:11.000", "closed"),
    failure("cp-1", "41:13.500", "refused"),
    failure("cp-1", "45:00.000", "refused"), // a later restart
    failure("cp-1", "41:12.000", "timeout"), // not a member down
  ]);
  assert.deepEqual(
    spans.map((span) =>
      `${span.member} ${new Date(span.from).toISOString().slice(14, 23)}-${
        new Date(span.to).toISOString().slice(14, 23)
      }`
    ),
    ["cp-1 41:10.000-41:13.500", "cp-1 45:00.000-45:00.000", "cp-2 41:18.000-41:18.000"],
  );
});

Deno.test("a failure through the load balancer is a member's restart only inside its span", () => {
  const spans = memberDownSpans([
    failure("cp-1", "41:10.000", "refused"),
    failure("cp-1", "41:13.000", "refused"),
  ]);
  const { inRestart, outside } = byMemberRestart([
    "2026-12-07T12:41:09.000Z", // the member stopping
    "2026-12-07T12:41:20.000Z", // its API server reaching etcd again
    "2026-12-07T12:41:30.000Z", // long after: not the restart's
    "2026-12-07T12:41:07.000Z", // before it stopped
  ], spans);
  assert.deepEqual(inRestart, ["2026-12-07T12:41:09.000Z", "2026-12-07T12:41:20.000Z"]);
  assert.deepEqual(outside, ["2026-12-07T12:41:30.000Z", "2026-12-07T12:41:07.000Z"]);
});
