import assert from "node:assert/strict";
import { loadPlan } from "./plan.ts";
import { canonicalJson } from "../plan/digest.ts";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { shippedPlan, testdata } from "../plan/_test_plans.ts";

/** plans/kubeadm.yaml as it was when the digests below were recorded. */
const kubeadmPlanAsRecorded = relative(
  Deno.cwd(),
  fileURLToPath(new URL("./testdata/kubeadm-97b0580.yaml", import.meta.url)),
);

// Digests recorded by ca-rotator before step kinds became one descriptor each (commit 97b0580):
// a rotation started with an earlier version must still match its plan after an upgrade.
const KUBEADM_PLAN_DIGEST =
  "sha256:3cfe9870d1e7da11bf2171546907dc62eb068dde81a9d3d2dffbe25043d83cdb";
const KUBEADM_STEP_DIGESTS: Record<string, string> = {
  "distribute-cluster-ca":
    "sha256:bbc73a4b1894e36dcac64c02f872a38ebea78e5027acd42b404f7d5365839e16",
  "distribute-front-proxy-ca":
    "sha256:7f0ac07d54b7a2b783f47e6982fbaf59d7917e5da0247194cc0d1cb7796dcd94",
  "kubeconfigs-trust-bundle":
    "sha256:eded6bcbee8e79d25f180a43dc0a83b8729aa74b22cf793ab6a7dff1ddefff4b",
  "controller-manager-trust-bundle":
    "sha256:6062089333463459e21033de639d4a36435fdc2424cbaba131f68c2c1992cbc5",
  "wait-root-ca-bundle": "sha256:97580d3ebb6b5480ff274434813f25bc1d22e936882034e3343b159389a4154c",
  "roll-kube-system-trust":
    "sha256:cef4036200e1e381330c41898bd3273acac7db9939f71a167ab4600c65443a2a",
  "roll-workloads-trust": "sha256:097a0aa8f6723cdfbb228885afaf24ad90898ff4fc5464250976ea57d4ad66f8",
  "apiserver-trust-bundle":
    "sha256:52af0807b35344f0ee8914b4b3064fc8543cc38ba431b79726afe375f170690c",
  "scheduler-trust-bundle":
    "sha256:550e96f9ff7076f562d442036c16ffdaa5a7fb27fe47004e7df20ee0e3e1f0b4",
  "cloud-controller-manager-trust-bundle":
    "sha256:385b5fb9a52db237b736166b50b0f1ca64ac018824ab7380e6482722310a7cb6",
  "restart-scheduler-trust":
    "sha256:9d0d8aeea2d512b7d8d7d12dcfa4f41b8a1282c4664096f4648bc3a70ec60927",
  "roll-kubelets-trust-bundle":
    "sha256:bf556e4dfcabaf3361673f45240ba66edfec501a8b0f6b08ef489b12dc304718",
  "verify-trust": "sha256:ba64a53f52075463ea4d9a7f1bddc6dc87dd9a410fbc7b30dcf81cd83696aace",
  "activate-cluster-ca": "sha256:841fb55e76be2d7ea8336f36d7e08b602222fa22d0cd1fed9be0909dd31d7b40",
  "activate-front-proxy-ca":
    "sha256:e8cff4d2cba8383dc5f56f86569f15c7481a8b58b227384808a4962aad46ba76",
  "reissue-cluster-leaves":
    "sha256:c5046ea026ef43db04dd700f3b613bb7291c71e22abe559911bf0b00f8eef873",
  "reissue-front-proxy-leaves":
    "sha256:d484ecaa612994e6b99bd0c921710c0638101d8244fcaa456242cec18d77f09a",
  "controller-manager-signer-new":
    "sha256:e5b4f049ae1e2a1a6e639a996574d9aae485970ec06cb965fe63c05eb2397920",
  "restart-apiservers-switch":
    "sha256:b9005866b9357b4824a59b7e4438d088cdb075b1a837a4938f1ec21b7795cb06",
  "restart-scheduler-switch":
    "sha256:9655ee7ca45d103ec9cfabd4909daa900b2ff711fec72ab2445c250142617c5b",
  "restart-controller-manager-switch":
    "sha256:a7fd6173c426ec872580aa822a6c43ff462ec757a6b96325edf4c0e7badfb3b5",
  "roll-workloads-switch":
    "sha256:1071d1075949b333922054b3cde61564b4581edeed0b308b26218c15d00f3917",
  "cluster-info-new": "sha256:26971934230650d7ea506f3f6fa177958dab720e31814fc385df0964a4994952",
  "verify-switch": "sha256:295780eb499050b40eebe17ff46be41536cdd7aca2f0991670bdeb423b1b91d6",
  "kubelet-rotation-gate":
    "sha256:db0cdf0d48d7aae25e3e570ef6db6ca5dfc4162b3b2636cb38ba6252dcafec26",
  "kubeconfigs-trust-new":
    "sha256:ed9f53c75c37db9881fb57f29b8eccfd9e60cd22bce82635e01bd7371f9561ad",
  "controller-manager-trust-new":
    "sha256:e00fdf8c8bb2b12324d2320a0b77f7e893a4a110cb65eb27e07e3250a4d2ecaa",
  "wait-root-ca-new": "sha256:2a51de524c6760251a83d7c99e836032476528b9f4f50dc05f129479124876cf",
  "roll-workloads-finalize":
    "sha256:2ccad6634698c89752ce79bf711da55d0b211600d6d6c5a6dd3ffcf1545e8ba9",
  "apiserver-trust-new": "sha256:64d28348d06cbf272e9db90e5cbdcf461d805487ffc77f0a06f55ecf8ecdf9c2",
  "scheduler-trust-new": "sha256:2c21e85293bd1be28702ae40bf949b613cf16008db285d01770686ed8bcd7da5",
  "cloud-controller-manager-trust-new":
    "sha256:8fe4a2f72ad94d5d7b872e1767ac886b65925a341c72e33cdc7cf0dbc1e9e833",
  "restart-scheduler-finalize":
    "sha256:8572669a7c95af3b5d5ebff0ccd2d63703f54dcd3c360fc03de23ed2f0cca9c0",
  "roll-kubelets-trust-new":
    "sha256:5dd6228d2b704627e97fb0534367f14e5b4623ee6a03ecc3c13eb76be7fa8ae3",
  "remove-old-cluster-ca":
    "sha256:83988e2aa1071fc0fbeb8b455a3a55ba9e29f4639d873a4749ba5ba2422e2abe",
  "remove-old-front-proxy-ca":
    "sha256:7720c4f02171b4889886b9b75dafdbf3b8156e8bc56dcc048e5e395bbb96d98f",
  "verify-finalize": "sha256:9c3537a15538659cc4a2cfc645c19b615d8541263e1c895fc2461e83953cc556",
};

Deno.test("plans/kubeadm.yaml as of 97b0580 keeps the plan and step digests recorded then", async () => {
  const loaded = await loadPlan(kubeadmPlanAsRecorded, {});
  assert.equal(loaded.digest, KUBEADM_PLAN_DIGEST);
  assert.deepEqual(loaded.stepDigests, KUBEADM_STEP_DIGESTS);
});

Deno.test("the minimal test plan keeps the digest recorded by earlier versions", async () => {
  const loaded = await loadPlan(testdata("minimal.yaml"), {});
  assert.equal(
    loaded.digest,
    "sha256:6663b768b7b1ad51829cbfb384688494f424f1a016f506744265b51fb3cdaeca",
  );
});

Deno.test("plans/kubeadm.yaml today: every step it still has unchanged keeps its digest", async () => {
  const recorded = await loadPlan(kubeadmPlanAsRecorded, {});
  const today = await loadPlan(shippedPlan("kubeadm.yaml"), {});
  const unchanged = recorded.plan.steps.filter((step) => {
    const now = today.plan.steps.find((each) => each.id === step.id);
    return now !== undefined && canonicalJson(now) === canonicalJson(step);
  }).map((step) => step.id);
  assert.ok(unchanged.length >= 30, `${unchanged.length} steps unchanged`);
  const changed = unchanged.filter((id) => today.stepDigests[id] !== KUBEADM_STEP_DIGESTS[id]);
  assert.deepEqual(changed, []);
});
