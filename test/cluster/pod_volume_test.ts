import assert from "node:assert/strict";
import { join } from "node:path";
import { readVolume, writeVolume } from "./pod_volume.ts";

Deno.test("writeVolume lays files out as the kubelet's AtomicWriter and swaps them in one rename", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(
      await writeVolume(dir, { "ca.crt": { data: "A" }, token: { data: "t1", mode: 0o600 } }),
      true,
    );
    const first = await Deno.readLink(join(dir, "..data"));
    assert.match(first, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+$/);
    assert.equal(await Deno.readLink(join(dir, "ca.crt")), "..data/ca.crt");
    assert.equal(await Deno.readTextFile(join(dir, "token")), "t1");
    assert.equal((await Deno.stat(join(dir, first, "token"))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, first, "ca.crt"))).mode! & 0o777, 0o644);
    // Unchanged: nothing is written.
    assert.equal(await writeVolume(dir, { "ca.crt": { data: "A" }, token: { data: "t1" } }), false);
    assert.equal(await Deno.readLink(join(dir, "..data")), first);
    // A file held open keeps its old contents; the path shows the new ones.
    const open = await Deno.open(join(dir, "ca.crt"));
    assert.equal(
      await writeVolume(dir, { "ca.crt": { data: "B" }, namespace: { data: "ns" } }),
      true,
    );
    const second = await Deno.readLink(join(dir, "..data"));
    assert.notEqual(second, first);
    assert.equal(await Deno.readTextFile(join(dir, "ca.crt")), "B");
    const buf = new Uint8Array(8);
    const n = await open.read(buf);
    open.close();
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "A");
    assert.deepEqual(await readVolume(dir), { "ca.crt": "B", namespace: "ns" });
    // The file no longer in the volume and the old directory are gone.
    await assert.rejects(Deno.lstat(join(dir, "token")), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(join(dir, first)), Deno.errors.NotFound);
    await assert.rejects(writeVolume(dir, { "../x": { data: "" } }), /bad file name/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
