import assert from "node:assert/strict";
import { socketDirParent } from "./ssh_connections.ts";

Deno.test("the socket directory leaves a deep $TMPDIR for /tmp, where ssh's path limit is kept", () => {
  assert.equal(socketDirParent(undefined), undefined);
  assert.equal(socketDirParent("/tmp"), undefined);
  assert.equal(socketDirParent("/tmp/cr0a1b2c"), undefined);
  // A CI runner's temporary directory: the socket would be longer than 107 bytes.
  assert.equal(socketDirParent("/home/runner/work/_temp/ca-rotator-lock-refused-cb40"), "/tmp");
  // The boundary: 16 characters of $TMPDIR still fit, 17 do not.
  assert.equal(socketDirParent("/".padEnd(16, "x")), undefined);
  assert.equal(socketDirParent("/".padEnd(17, "x")), "/tmp");
});
