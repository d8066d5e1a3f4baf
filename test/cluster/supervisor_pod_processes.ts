/**
 * The supervisor's pod processes (pod_processes.ts): real processes for the kwok pods of
 * workloads labelled `ca-rotator.test/process`, reaching the API as the admin of the first
 * control-plane node's admin.conf.
 * @module
 */
import { PodProcesses } from "./pod_processes.ts";
import { log, type Supervision } from "./supervision.ts";

/** Starts following the labelled pods; resolves once they and kube-root-ca.crt are listed. */
export async function startPodProcesses(s: Supervision): Promise<void> {
  const pods = new PodProcesses({
    stateDir: s.stateDir,
    binDir: s.binDir,
    adminRoot: s.layout.controlPlane[0].root,
    endpoint: s.layout.endpoint,
    log,
    // state.json lists the pods' pids (`pod/<namespace>/<name>`).
    onChange: () => void s.save(),
  });
  s.podProcesses = pods;
  await pods.start();
}
