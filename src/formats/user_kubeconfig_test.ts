import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  encodeData,
  readUserKubeconfig,
  UserKubeconfigError,
  withClusterCaData,
  withUserClientCertificate,
} from "./user_kubeconfig.ts";

const KUBECONFIG = `apiVersion: v1
kind: Config
# a person's kubeconfig: two clusters, a token user and a certificate user
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority-data: ${encodeData("OLD CA")}
- name: staging
  cluster:
    server: https://staging.example:6443
    certificate-authority: /etc/staging-ca.crt
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    client-certificate-data: ${encodeData("ALICE CERT")}
    client-key-data: ${encodeData("ALICE KEY")}
- name: bot
  user:
    token: abc
- name: sso
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: login }
contexts:
- name: prod
  context: { cluster: prod, user: alice }
current-context: prod
`;

Deno.test("readUserKubeconfig: clusters, credentials and the current context", () => {
  const read = readUserKubeconfig(KUBECONFIG, "me.yaml");
  assert.deepEqual(read.clusters.map((each) => [each.name, each.server, each.caPem]), [
    ["prod", "https://prod.example:6443", "OLD CA"],
    ["staging", "https://staging.example:6443", undefined],
  ]);
  assert.equal(read.clusters[1].caFile, "/etc/staging-ca.crt");
  assert.equal(read.clusters[1].insecure, true);
  assert.deepEqual(read.users.map((each) => each.credential), [
    "client-certificate",
    "token",
    "exec",
  ]);
  assert.equal(read.users[0].certPem, "ALICE CERT");
  assert.equal(read.currentContext, "prod");
  assert.deepEqual(read.contexts, [{ name: "prod", cluster: "prod", user: "alice" }]);
});

Deno.test("readUserKubeconfig: bad input names the file and the field", () => {
  const cases: [string, RegExp][] = [
    ["clusters: [unclosed\n  - {", /^me\.yaml: not valid YAML/],
    ["just text", /^me\.yaml: not a kubeconfig/],
    ["clusters: []\n", /^me\.yaml: has no clusters/],
    [
      "clusters:\n- name: a\n  cluster: {}\n",
      /^me\.yaml: clusters\[0\]\.cluster\.server is missing/,
    ],
    [
      "clusters:\n- name: a\n  cluster: { server: https://a, certificate-authority-data: '%%' }\n",
      /clusters\[0\]\.cluster\.certificate-authority-data is not base64/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => readUserKubeconfig(text, "me.yaml"), (error: Error) => {
      assert.ok(error instanceof UserKubeconfigError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("withClusterCaData: only the named clusters, the rest of the file kept", () => {
  const text = withClusterCaData(KUBECONFIG, [1], "BUNDLE", "me.yaml");
  const read = readUserKubeconfig(text);
  assert.equal(read.clusters[0].caPem, "OLD CA", "prod untouched");
  assert.equal(read.clusters[1].caPem, "BUNDLE");
  assert.equal(read.clusters[1].caFile, undefined, "the CA file dropped");
  assert.equal(read.clusters[1].insecure, false, "kubectl refuses a CA with the insecure flag");
  assert.match(text, /# a person's kubeconfig/, "comments kept");
  const users = (parse(text) as { users: { user: Record<string, unknown> }[] }).users;
  assert.equal(users[1].user.token, "abc", "a token user keeps its token");
  assert.ok(users[2].user.exec, "an exec user keeps its exec");
});

Deno.test("withUserClientCertificate: inline certificate and key, files dropped", () => {
  const withFiles = KUBECONFIG.replace(
    /client-certificate-data: .*\n {4}client-key-data: .*\n/,
    "client-certificate: alice.crt\n    client-key: alice.key\n",
  );
  const text = withUserClientCertificate(withFiles, 0, "NEW CERT", "NEW KEY");
  const user = (parse(text) as { users: { user: Record<string, string> }[] }).users[0].user;
  assert.deepEqual(Object.keys(user).sort(), ["client-certificate-data", "client-key-data"]);
  assert.equal(atob(user["client-certificate-data"]), "NEW CERT");
  assert.equal(atob(user["client-key-data"]), "NEW KEY");
});
