/**
 * What must hold after every kill of `rotate`: every file the rotation touches on every node
 * parses whole, the progress ConfigMap parses, and the rotation has one new CA — one new-CA
 * Secret, whose certificates never change from one run to the next.
 * @module
 */
import assert from "node:assert/strict";
import type { TestCluster } from "../cluster/harness.ts";
import { newCaSecretName } from "../../src/state/new_ca_secret.ts";
import { fingerprint } from "../../src/pki/fingerprint.ts";
import { parseCertificate } from "../../src/pki/bundle.ts";
import type { StepStatus } from "../../src/engine/progress.ts";
import { checkNodeFiles } from "./node_file_check.ts";

const STEP_STATES: readonly StepStatus[] = ["running", "done", "failed", "blocked", "interrupted"];

/** Remembers the new CAs' fingerprints across kills. */
export class CrashChecks {
  #fingerprints: Record<string, string> | undefined;
  filesChecked = 0;

  constructor(readonly cluster: TestCluster, readonly planName: string) {}

  /** The fingerprints of the new CAs, once generated. */
  get newCaFingerprints(): Readonly<Record<string, string>> | undefined {
    return this.#fingerprints;
  }

  /** Checks the node files, the progress record and the new-CA Secret; `where` names the kill. */
  async afterKill(where: string): Promise<void> {
    const roots = [...this.cluster.nodeRoots, ...this.cluster.workerRoots];
    const files = await checkNodeFiles(roots);
    this.filesChecked += files.checked;
    assert.deepEqual(files.problems, [], `after the kill at ${where}: half-written node files`);
    await this.#progressParses(where);
    await this.#oneNewCa(where);
  }

  async #progressParses(where: string): Promise<void> {
    const list = await this.cluster.kubectlJson<
      { items: { metadata: { name: string }; data?: Record<string, string> }[] }
    >(["get", "configmaps", "-n", "kube-system"]);
    const configMap = list.items.find((item) =>
      item.metadata.name === `ca-rotator-${this.planName}`
    );
    if (!configMap) return; // killed before the first step was recorded
    const data = configMap.data ?? {};
    const steps = JSON.parse(data.steps) as Record<string, { status: string }>;
    JSON.parse(data.caFingerprints ?? "{}");
    assert.match(data.planDigest ?? "", /\S/, `${where}: the progress record has a plan digest`);
    for (const [id, record] of Object.entries(steps)) {
      assert.ok(
        STEP_STATES.includes(record.status as StepStatus),
        `${where}: step ${id} is ${record.status}`,
      );
    }
  }

  async #oneNewCa(where: string): Promise<void> {
    const secrets = await this.cluster.kubectlJson<
      { items: { metadata: { name: string }; data?: Record<string, string> }[] }
    >(["get", "secrets", "-n", "kube-system"]);
    const newCas = secrets.items.filter((item) => /new-ca/.test(item.metadata.name));
    if (newCas.length === 0 && !this.#fingerprints) return; // not generated yet
    assert.deepEqual(
      newCas.map((item) => item.metadata.name),
      [newCaSecretName(this.planName)],
      `${where}: one new-CA Secret`,
    );
    const data = newCas[0].data ?? {};
    const fingerprints: Record<string, string> = {};
    for (const key of Object.keys(data).filter((key) => key.endsWith(".crt")).sort()) {
      fingerprints[key] = await fingerprint(parseCertificate(atob(data[key]), key));
    }
    this.#fingerprints ??= fingerprints;
    assert.deepEqual(fingerprints, this.#fingerprints, `${where}: the new CAs never change`);
  }
}
