import assert from "node:assert/strict";
import {
  ADVERTISE_ANNOTATION,
  commandFlags,
  endpointsUrls,
  endpointUrl,
  extraArgsFlags,
  manifestPodName,
  MIRROR_ANNOTATION,
  mirrorPodEndpoint,
  signingFlagsOf,
  sliceEndpoints,
  staticPodsMounting,
} from "./cluster_facts.ts";

const mirror = (
  name: string,
  node: string,
  paths: string[],
  extra: { labels?: Record<string, string> } = {},
) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: `${name}-${node}`,
    namespace: "kube-system",
    annotations: { [MIRROR_ANNOTATION]: "abc" },
    labels: extra.labels,
  },
  spec: { nodeName: node, volumes: paths.map((path) => ({ hostPath: { path } })) },
});

Deno.test("the API servers of kube-apiserver mirror pods: kubeadm's annotation, else the flags", () => {
  assert.equal(
    mirrorPodEndpoint({
      metadata: { annotations: { [ADVERTISE_ANNOTATION]: "10.0.0.11:6443" } },
    }),
    "https://10.0.0.11:6443",
  );
  assert.equal(
    mirrorPodEndpoint({
      spec: {
        containers: [{
          command: ["kube-apiserver", "--advertise-address=fd00::1", "--secure-port=8443"],
        }],
      },
    }),
    "https://[fd00::1]:8443",
  );
  assert.equal(
    mirrorPodEndpoint({ spec: { containers: [{ command: ["kube-apiserver"] }] } }),
    undefined,
  );
});

Deno.test("the endpoints of Service default/kubernetes, from its EndpointSlices or its Endpoints", () => {
  assert.deepEqual(
    sliceEndpoints([
      {
        endpoints: [{ addresses: ["10.0.0.12"] }, { addresses: ["10.0.0.11"] }],
        ports: [{ name: "https", port: 6443 }],
      },
      { endpoints: [{ addresses: ["10.0.0.11"] }], ports: [{ name: "https", port: 6443 }] },
    ]),
    ["https://10.0.0.11:6443", "https://10.0.0.12:6443"],
  );
  assert.deepEqual(
    endpointsUrls({
      subsets: [{ addresses: [{ ip: "10.0.0.11" }], ports: [{ name: "https", port: 6443 }] }],
    }),
    ["https://10.0.0.11:6443"],
  );
  assert.deepEqual(endpointsUrls(undefined), []);
  assert.equal(endpointUrl("k8s.example.com", 443), "https://k8s.example.com:443");
});

Deno.test("the controller-manager's signing flags, from its command or kubeadm's extraArgs in either form", () => {
  const command = [
    "kube-controller-manager",
    "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
    "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
    "--cluster-signing-duration=8760h",
    "--root-ca-file=/etc/kubernetes/pki/ca.crt",
  ];
  assert.deepEqual(signingFlagsOf(commandFlags(command)), {
    "--cluster-signing-cert-file": "/etc/kubernetes/pki/ca.crt",
    "--cluster-signing-key-file": "/etc/kubernetes/pki/ca.key",
  });
  const v1beta4 = [
    { name: "cluster-signing-kubelet-client-cert-file", value: "/pki/a.crt" },
    { name: "node-monitor-grace-period", value: "20s" },
  ];
  assert.deepEqual(signingFlagsOf(extraArgsFlags(v1beta4)), {
    "--cluster-signing-kubelet-client-cert-file": "/pki/a.crt",
  });
  assert.deepEqual(
    signingFlagsOf(extraArgsFlags({ "cluster-signing-kubelet-client-key-file": "/pki/a.key" })),
    { "--cluster-signing-kubelet-client-key-file": "/pki/a.key" },
  );
  assert.deepEqual(extraArgsFlags(undefined), new Map());
});

Deno.test("static pods that mount kubeconfigs or the PKI, by manifest name; components and other mounts are not (negative control)", () => {
  const pods = [
    mirror("kube-vip", "cp-1", ["/etc/kubernetes/admin.conf"]),
    mirror("kube-vip", "cp-2", ["/etc/kubernetes/super-admin.conf"]),
    mirror("konnectivity-server", "cp-1", ["/etc/kubernetes/pki", "/var/log"]),
    mirror("kube-apiserver", "cp-1", ["/etc/kubernetes/pki"]),
    mirror("etcd", "cp-1", ["/etc/kubernetes/pki/etcd"]),
    mirror("log-shipper", "cp-1", ["/var/log", "/etc/kubernetesfoo"]),
  ];
  assert.deepEqual(staticPodsMounting(pods, ["/etc/kubernetes", "/etc/kubernetes/pki"]), [
    { name: "konnectivity-server", nodes: ["cp-1"], mounts: ["/etc/kubernetes/pki"] },
    {
      name: "kube-vip",
      nodes: ["cp-1", "cp-2"],
      mounts: ["/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"],
    },
  ]);
  // A PKI directory elsewhere counts too.
  assert.deepEqual(
    staticPodsMounting([mirror("vault-agent", "cp-1", ["/srv/pki"])], [
      "/etc/kubernetes",
      "/srv/pki",
    ])
      .map((pod) => pod.name),
    ["vault-agent"],
  );
  assert.equal(manifestPodName(mirror("kube-vip", "cp-1.example.com", [])), "kube-vip");
  assert.equal(manifestPodName({ metadata: { name: "odd" } }), "odd");
});
