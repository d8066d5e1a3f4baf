/**
 * Kubelet serving certificates on the test control plane (issue 20, first part): with the
 * cluster option `servingCertificates`, every kubelet runs the kubelet's own server certificate
 * manager (kubelet-serving CSRs, which nothing approves by itself: the test approves them as a
 * cluster's approver would), serves HTTPS on its node address with the issued certificate, and
 * the API server, whose `--kubelet-certificate-authority` is the cluster CA, reaches it through
 * the node proxy (the logs/exec path). The rotation under the serving-certificate gate:
 * kubelet_serving_gate_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, withCluster } from "../cluster/harness.ts";
import { approveFirstServingCsrs, SERVING_CLUSTER } from "./kubelet_serving_fixture.ts";

Deno.test({
  name:
    "kubelets serve with certificates from kubelet-serving CSRs, reached through the node proxy",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withCluster(
      // One API server: this test reaches each kubelet once, through no API server restart.
      { ...SERVING_CLUSTER, apiServers: 1 },
      async (cluster) => {
        const nodes = [...cluster.nodes, ...cluster.workers].map((n) => n.name);
        const apiServer = await Deno.readTextFile(
          join(cluster.nodeRoots[0], "etc/kubernetes/manifests/kube-apiserver.yaml"),
        );
        assert.match(apiServer, /--kubelet-certificate-authority=\/etc\/kubernetes\/pki\/ca\.crt/);
        await approveFirstServingCsrs(cluster);
        for (const node of nodes) {
          const root = cluster.rootOf(node);
          await eventually(`${node}: kubelet-server-current.pem`, async () => {
            try {
              return await Deno.readTextFile(
                join(root, "var/lib/kubelet/pki/kubelet-server-current.pem"),
              );
            } catch {
              return undefined;
            }
          }, 60_000);
          const body = await eventually(
            `${node}: healthz through the node proxy`,
            async () => {
              try {
                return await cluster.kubectl([
                  "get",
                  "--raw",
                  `/api/v1/nodes/${node}/proxy/healthz`,
                ]);
              } catch {
                return undefined;
              }
            },
            60_000,
            2000,
          );
          assert.equal(body.trim(), "ok");
          // The kubelet publishes its port once kwok has initialised the Node's status.
          await eventually(
            `${node}: kubeletEndpoint.Port 10250`,
            async () => {
              const port = await cluster.kubectl([
                "get",
                "node",
                node,
                "-o",
                "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
              ]);
              return port.trim() === "10250";
            },
            60_000,
            1000,
          );
          console.log(`${node}: serving certificate issued, healthz through the node proxy: ok`);
        }
      },
    );
  },
});
