import assert from "node:assert/strict";
import { join } from "node:path";
import { checkHaproxyConfig, ensureHaproxy, renderHaproxyConfig } from "./haproxy.ts";

Deno.test("renderHaproxyConfig balances the API servers with /readyz checks and haproxy accepts it", async () => {
  const text = renderHaproxyConfig({ ip: "198.18.1.100", port: 6443 }, [
    { name: "control-plane-1", ip: "198.18.1.1", port: 6443 },
    { name: "control-plane-2", ip: "198.18.1.2", port: 6443 },
  ]);
  assert.match(text, /bind 198\.18\.1\.100:6443/);
  assert.match(text, /server control-plane-2 198\.18\.1\.2:6443/);
  assert.match(text, /option httpchk GET \/readyz/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "haproxy.cfg"), text);
    await checkHaproxyConfig(await ensureHaproxy(), join(dir, "haproxy.cfg"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
