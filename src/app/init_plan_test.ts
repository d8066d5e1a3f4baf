import assert from "node:assert/strict";
import { checkInitSettings, defaultPlanName, type InitOptions } from "./init_plan.ts";
import { InputError } from "../plan/input_error.ts";

const settings: InitOptions["settings"] = {
  driver: "ssh",
  identityFile: "~/.ssh/ca-rotator",
  sudo: true,
  addressType: "InternalIP",
};

Deno.test("the default plan name is the cluster's, made a DNS label", () => {
  assert.equal(defaultPlanName("kubernetes"), "kubernetes");
  assert.equal(defaultPlanName("Prod_EU.west"), "prod-eu-west");
  assert.equal(defaultPlanName("--"), "cluster");
  assert.equal(defaultPlanName(undefined), "cluster");
  assert.equal(defaultPlanName("a".repeat(80)).length, 63);
});

Deno.test("bad flags are refused before the cluster is read, naming the flag", () => {
  assert.doesNotThrow(() => checkInitSettings({ settings: { ...settings, name: "prod" } }));
  assert.throws(
    () => checkInitSettings({ settings: { ...settings, name: "Prod_1" } }),
    (error) =>
      error instanceof InputError && /--name "Prod_1" must be a DNS label/.test(error.message),
  );
  assert.throws(
    () => checkInitSettings({ settings: { ...settings, driver: "local" } }),
    (error) =>
      error instanceof InputError && /--driver local needs --node-roots/.test(error.message),
  );
  assert.throws(
    () => checkInitSettings({ settings: { ...settings, nodeRoots: "/srv/nodes" } }),
    (error) =>
      error instanceof InputError && /--node-roots is for --driver local/.test(error.message),
  );
});
