import assert from "node:assert/strict";
import { down } from "./cluster.ts";
import { planLayout, resolveOptions } from "./layout.ts";
import {
  createNetwork,
  inNetns,
  networkFor,
  networkLeftovers,
  networkOwnership,
  prefixesOverlap,
  removeNetwork,
  subnetOctet,
} from "./netns.ts";
import { writeState } from "./state.ts";

Deno.test("networkFor names the namespace and veth ends after the subnet (≤ 15 characters)", () => {
  const net = networkFor("198.18.255", ["198.18.255.1", "198.18.255.100"]);
  assert.deepEqual(net, {
    subnet: "198.18.255",
    netns: "ca-rotator-255",
    hostInterface: "carot255h",
    nsInterface: "carot255n",
    hostAddress: "198.18.255.254",
    addresses: ["198.18.255.1", "198.18.255.100"],
    owner: "",
  });
  assert.ok(net.hostInterface.length <= 15 && net.nsInterface.length <= 15);
  assert.deepEqual(inNetns(net.netns, ["deno", "run"]), [
    "ip",
    "netns",
    "exec",
    "ca-rotator-255",
    "deno",
    "run",
  ]);
});

Deno.test("subnetOctet accepts 198.18.<0..255> only", () => {
  assert.equal(subnetOctet("198.18.0"), 0);
  assert.equal(subnetOctet("198.18.61"), 61);
  for (const bad of ["198.18.256", "10.0.1", "198.19.1", "198.18.1.0", "198.18.x"]) {
    assert.throws(() => subnetOctet(bad), /Cannot use subnet/, bad);
  }
});

Deno.test("prefixesOverlap", () => {
  assert.ok(prefixesOverlap("198.18.5.0/24", "198.18.5.0/24"));
  assert.ok(prefixesOverlap("198.18.5.7", "198.18.5.0/24"));
  assert.ok(prefixesOverlap("198.18.0.0/15", "198.18.5.0/24"));
  assert.ok(prefixesOverlap("198.18.5.128/25", "198.18.5.0/24"));
  assert.ok(!prefixesOverlap("198.18.6.0/24", "198.18.5.0/24"));
  assert.ok(!prefixesOverlap("198.18.165.0/24", "198.18.16.0/24"));
  assert.ok(!prefixesOverlap("127.0.0.0/8", "198.18.5.0/24"));
  assert.ok(!prefixesOverlap("garbage", "198.18.5.0/24"));
});

Deno.test("down removes only the network its state.json made, not a namesake's", async () => {
  const subnet = "198.18.253";
  const mine = await Deno.makeTempDir({ prefix: "ca-rotator-netns-test-" });
  const stale = await Deno.makeTempDir({ prefix: "ca-rotator-netns-test-" });
  const net = await createNetwork(subnet, [`${subnet}.1`], mine);
  try {
    assert.deepEqual(await networkOwnership(net), { netns: true, hostInterface: true });
    const inside = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["-n", net.netns, "-4", "-o", "addr"] }).output())
        .stdout,
    );
    assert.match(inside, /carot253n\s+inet 198\.18\.253\.1\/24/);
    assert.match(inside, /lo\s+inet 127\.0\.0\.1\/8/);
    // A stale state.json naming the same namespace for another cluster leaves it alone.
    const layout = planLayout(resolveOptions({ stateDir: stale, subnet }));
    await writeState(stale, {
      status: "failed",
      layout,
      binDir: "/nonexistent",
      network: { ...net, owner: stale },
      kubeconfig: "/nonexistent",
      pids: {},
      createdAt: new Date().toISOString(),
    });
    await down({ stateDir: stale, log: () => {} });
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    assert.deepEqual(await networkOwnership(net), { netns: true, hostInterface: true });
    // Its own state.json removes it.
    await writeState(mine, {
      status: "failed",
      layout: planLayout(resolveOptions({ stateDir: mine, subnet })),
      binDir: "/nonexistent",
      network: net,
      kubeconfig: "/nonexistent",
      pids: {},
      createdAt: new Date().toISOString(),
    });
    await down({ stateDir: mine, log: () => {} });
    assert.deepEqual(await networkLeftovers(subnet), []);
  } finally {
    await removeNetwork(net, await networkOwnership(net));
    await Deno.remove(mine, { recursive: true }).catch(() => {});
    await Deno.remove(stale, { recursive: true }).catch(() => {});
  }
});
