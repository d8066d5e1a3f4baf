import assert from "node:assert/strict";
import { loadPlan } from "./plan.ts";

const env = {
  SSH_USER: "ops",
  SSH_IDENTITY_FILE: "/tmp/ssh/id_ed25519",
  SSH_KNOWN_HOSTS: "/tmp/ssh/known_hosts",
  NODE_1_IP: "198.18.1.1",
  NODE_2_IP: "198.18.1.2",
  NODE_3_IP: "198.18.1.3",
  WORKER_1_IP: "198.18.1.21",
  WORKER_2_IP: "198.18.1.22",
  WORKER_3_IP: "198.18.1.23",
  CLUSTER_ENDPOINT: "https://198.18.1.100:6443",
};

Deno.test("plans/ssh-demo.yaml is plans/kubeadm.yaml but for the nodes' addresses and credentials", async () => {
  const ssh = await loadPlan("plans/ssh-demo.yaml", env);
  const kubeadm = await loadPlan("plans/kubeadm.yaml", {});
  const { nodes, apiServers, ...rest } = ssh.plan;
  const { nodes: _nodes, apiServers: _apiServers, ...kubeadmRest } = kubeadm.plan;
  assert.deepEqual(rest, kubeadmRest, "the same steps, CAs, layout and settings");
  assert.deepEqual(ssh.stepDigests, kubeadm.stepDigests, "every step digests the same");
  for (const group of [nodes.controlPlane, nodes.workers!]) {
    assert.equal(group.driver, "ssh");
    if (group.driver !== "ssh") continue;
    assert.equal(group.sudo, true);
    assert.equal(group.identityFile, env.SSH_IDENTITY_FILE);
    assert.equal(group.knownHostsFile, env.SSH_KNOWN_HOSTS);
    assert.ok((group.hosts ?? []).every((host) => (host.user ?? group.user) === "ops"));
  }
  assert.deepEqual(ssh.plan.layout.kubeletRestart, ["systemctl", "restart", "kubelet"]);
  assert.deepEqual(apiServers, {
    endpoints: ["https://198.18.1.1:6443", "https://198.18.1.2:6443", "https://198.18.1.3:6443"],
    loadBalancer: "https://198.18.1.100:6443",
  });
});
