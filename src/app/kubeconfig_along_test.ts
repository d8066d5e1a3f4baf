import assert from "node:assert/strict";
import { InputError } from "../plan/input_error.ts";
import { readUserKubeconfig } from "../formats/user_kubeconfig.ts";
import { selectClusters, serverKey } from "./kubeconfig_along.ts";

const KUBECONFIG = readUserKubeconfig(`clusters:
- name: prod
  cluster: { server: "https://LB.example/" }
- name: prod-direct
  cluster: { server: "https://10.0.0.1:6443" }
- name: other
  cluster: { server: "https://other.example:6443" }
`);

Deno.test("serverKey: servers compared as a client reaches them", () => {
  assert.equal(serverKey("https://LB.example/"), serverKey("https://lb.example:443"));
  assert.notEqual(serverKey("https://lb.example:6443"), serverKey("https://lb.example"));
});

Deno.test("selectClusters: by server, or by name", () => {
  const names = (list: { name: string }[]) => list.map((each) => each.name);
  assert.deepEqual(
    names(selectClusters(KUBECONFIG, ["https://lb.example:443", "https://10.0.0.1:6443"], "k")),
    ["prod", "prod-direct"],
  );
  assert.deepEqual(names(selectClusters(KUBECONFIG, [], "k", ["other"])), ["other"]);
});

Deno.test("selectClusters: none matching, or an unknown name, is bad input naming the file", () => {
  assert.throws(
    () => selectClusters(KUBECONFIG, ["https://198.18.0.2:6443"], "me.yaml"),
    (error: Error) =>
      error instanceof InputError &&
      /^me\.yaml: no cluster's server is this cluster's \(https:\/\/198\.18\.0\.2:6443\); clusters: prod \(https:\/\/LB\.example\/\), .*--cluster/
        .test(error.message),
  );
  assert.throws(
    () => selectClusters(KUBECONFIG, [], "me.yaml", ["nope"]),
    /me\.yaml: has no cluster "nope"/,
  );
});
