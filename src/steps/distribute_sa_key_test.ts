import assert from "node:assert/strict";
import { join } from "node:path";
import { renderChanges } from "../diff/mod.ts";
import { InputError } from "../plan/input_error.ts";
import { generateServiceAccountKey, publicKeyIds } from "../pki/mod.ts";
import { setManifestFlags } from "../formats/static_pod_manifest.ts";
import { activateSaKey } from "./activate_sa_key.ts";
import { distributeSaKey } from "./distribute_sa_key.ts";
import { removeOldSaKey } from "./remove_old_sa_key.ts";
import {
  assertNoKeyMaterial,
  assertRejectsNaming,
  changeOf,
  describe,
} from "./_test_assertions.ts";
import { LocalNodesCluster } from "./_test_cluster.ts";
import { MANIFESTS, PKI } from "./_test_kubeadm_files.ts";

const step = (fields: Record<string, unknown> = {}) =>
  distributeSaKey.schema.parse({
    id: "distribute-sa-key",
    phase: "trust",
    kind: "distribute-sa-key",
    ...fields,
  });

/** A cluster whose control-plane nodes hold kubeadm's sa.key/sa.pub. */
async function withSaKey() {
  const cluster = await LocalNodesCluster.create();
  const old = await generateServiceAccountKey("rsa-2048");
  const ctx = cluster.context({ stepId: "distribute-sa-key" });
  for (const node of ctx.controlPlane) {
    await node.writeFile(`${PKI}/sa.key`, old.keyPem, { mode: 0o600 });
    await node.writeFile(`${PKI}/sa.pub`, old.publicPem);
  }
  return { cluster, ctx, old };
}

Deno.test("distribute-sa-key: stages a new key (0600, masked), its public key and the bundle of both", async () => {
  const { cluster, ctx, old } = await withSaKey();
  await using _ = cluster;
  const changes = distributeSaKey.diff(await distributeSaKey.observe(ctx, step()), step());
  assert.deepEqual(describe(changes), [
    `create cp-1:${PKI}/sa-new.key`,
    `create cp-1:${PKI}/sa-new.pub`,
    `create cp-1:${PKI}/sa-bundle.pub`,
    `create cp-2:${PKI}/sa-new.key`,
    `create cp-2:${PKI}/sa-new.pub`,
    `create cp-2:${PKI}/sa-bundle.pub`,
  ]);
  const key = changeOf(changes, "cp-1", `${PKI}/sa-new.key`);
  assert.equal(key.sensitive, true);
  assert.deepEqual(key.target, {
    type: "file",
    node: "cp-1",
    path: `${PKI}/sa-new.key`,
    mode: 0o600,
  });
  assert.equal(key.after, changeOf(changes, "cp-2", `${PKI}/sa-new.key`).after, "one key for all");
  const [newId] = await publicKeyIds(changeOf(changes, "cp-1", `${PKI}/sa-new.pub`).after!);
  assert.deepEqual(
    await publicKeyIds(changeOf(changes, "cp-2", `${PKI}/sa-bundle.pub`).after!),
    [old.keyId, newId],
    "the bundle: the old key, then the new one",
  );
  // The key change alone: an RSA public key shows the modulus, which the private key holds too.
  const rendered = renderChanges([key], { color: false, stepId: "distribute-sa-key" });
  assert.match(rendered, /sa-new\.key/);
  assertNoKeyMaterial(rendered, key.after!);

  await distributeSaKey.apply(ctx, step(), changes);
  await distributeSaKey.verify(ctx, step());
  // A resumed run reads the staged key back: nothing left to do, no second key.
  assert.deepEqual(distributeSaKey.diff(await distributeSaKey.observe(ctx, step()), step()), []);
});

Deno.test("distribute-sa-key: a run stopped after the first node stages the same key on the next", async () => {
  const { cluster, ctx } = await withSaKey();
  await using _ = cluster;
  const changes = distributeSaKey.diff(await distributeSaKey.observe(ctx, step()), step());
  await distributeSaKey.apply(
    ctx,
    step(),
    changes.filter((c) => c.target.type === "file" && c.target.node === "cp-1"),
  );
  const resumed = distributeSaKey.diff(await distributeSaKey.observe(ctx, step()), step());
  assert.deepEqual(describe(resumed), [
    `create cp-2:${PKI}/sa-new.key`,
    `create cp-2:${PKI}/sa-new.pub`,
    `create cp-2:${PKI}/sa-bundle.pub`,
  ]);
  assert.equal(
    changeOf(resumed, "cp-2", `${PKI}/sa-new.key`).after,
    changeOf(changes, "cp-1", `${PKI}/sa-new.key`).after,
  );
});

Deno.test("distribute-sa-key: a given weak key is bad input naming the step and the file", async () => {
  const { cluster, ctx } = await withSaKey();
  await using _ = cluster;
  const dir = await Deno.makeTempDir();
  const path = join(dir, "weak.key");
  const out = await new Deno.Command("openssl", {
    args: ["genrsa", "-traditional", "-out", path, "1024"],
    stderr: "null",
  }).output();
  assert.ok(out.success);
  const given = step({ key: path });
  const error = await assertRejectsNaming(
    distributeSaKey.observe(ctx, given),
    'step "distribute-sa-key"',
    path,
    "rsa-1024",
  );
  assert.ok(error instanceof InputError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("activate-sa-key and remove-old-sa-key: the new pair becomes sa.key/sa.pub; the staged files go once no manifest names them", async () => {
  const { cluster, ctx } = await withSaKey();
  await using _ = cluster;
  await distributeSaKey.apply(
    ctx,
    step(),
    distributeSaKey.diff(await distributeSaKey.observe(ctx, step()), step()),
  );
  const activate = activateSaKey.schema.parse({
    id: "a",
    phase: "finalize",
    kind: "activate-sa-key",
  });
  const activation = activateSaKey.diff(await activateSaKey.observe(ctx, activate), activate);
  assert.deepEqual(describe(activation), [
    `update cp-1:${PKI}/sa.key`,
    `update cp-1:${PKI}/sa.pub`,
    `update cp-2:${PKI}/sa.key`,
    `update cp-2:${PKI}/sa.pub`,
  ]);
  await activateSaKey.apply(ctx, activate, activation);
  await activateSaKey.verify(ctx, activate);
  const staged = await ctx.controlPlane[0].readFile(`${PKI}/sa-new.pub`);
  assert.equal(await ctx.controlPlane[1].readFile(`${PKI}/sa.pub`), staged);

  // The API server still verifies with the bundle: the staged files stay.
  const manifest = `${MANIFESTS}/kube-apiserver.yaml`;
  const text = (await ctx.controlPlane[1].readFile(manifest))!;
  await ctx.controlPlane[1].writeFile(
    manifest,
    setManifestFlags(text, { "--service-account-key-file": `${PKI}/sa-bundle.pub` }),
  );
  const remove = removeOldSaKey.schema.parse({
    id: "r",
    phase: "finalize",
    kind: "remove-old-sa-key",
  });
  await assertRejectsNaming(removeOldSaKey.observe(ctx, remove), "cp-2", manifest, "sa-bundle.pub");
  await ctx.controlPlane[1].writeFile(manifest, text);
  const removal = removeOldSaKey.diff(await removeOldSaKey.observe(ctx, remove), remove);
  assert.deepEqual(describe(removal), [
    `delete cp-1:${PKI}/sa-bundle.pub`,
    `delete cp-1:${PKI}/sa-new.pub`,
    `delete cp-1:${PKI}/sa-new.key`,
    `delete cp-2:${PKI}/sa-bundle.pub`,
    `delete cp-2:${PKI}/sa-new.pub`,
    `delete cp-2:${PKI}/sa-new.key`,
  ]);
  await removeOldSaKey.apply(ctx, remove, removal);
  await removeOldSaKey.verify(ctx, remove);
});
