import assert from "node:assert/strict";
import { join } from "node:path";
import { KubeletTriggers } from "./kubelet_triggers.ts";

Deno.test("a restart trigger is a request when touched after init; the rotate trigger until cleared", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = join(root, "var/run/kubelet");
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(join(run, "restart"), "");
    await Deno.utime(join(run, "restart"), 1_000, 1_000);
    const triggers = new KubeletTriggers(root);
    await triggers.init();
    assert.equal(triggers.restartRequested(), false);
    await Deno.utime(join(run, "restart"), 2_000, 2_000);
    assert.equal(triggers.restartRequested(), true);
    assert.equal(triggers.restartRequested(), false);

    assert.equal(triggers.rotationRequested(), false);
    await Deno.writeTextFile(join(run, "rotate"), "");
    assert.equal(triggers.rotationRequested(), true);
    triggers.clearRotation();
    assert.equal(triggers.rotationRequested(), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
