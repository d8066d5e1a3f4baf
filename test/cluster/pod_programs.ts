/**
 * What a kwok pod of the test cluster runs (see pod_processes.ts): the pod-template label
 * `ca-rotator.test/process: <program>` names an entry of {@linkcode POD_PROGRAMS}, which
 * stands for the container image — a binary build.sh put in the bin directory — and how the
 * pod's container becomes its command line. To add a program: a `programs/cmd/<name>` (or
 * another binary build.sh builds) and an entry here.
 * @module
 */
import { join } from "node:path";
import type { KubeObject } from "./pod_api.ts";

/** The pod label (set in a workload's pod template) that gives a kwok pod a real process. */
export const PROCESS_LABEL = "ca-rotator.test/process";

/**
 * Test-only pod annotation: PEM certificates the pod's `ca.crt` holds instead of the
 * namespace's kube-root-ca.crt, from the pod's start on and whatever the ConfigMap later
 * holds — a pod that trusts the wrong CA, for negative controls.
 */
export const CA_FILE_OVERRIDE_ANNOTATION = "ca-rotator.test/ca-file-override";

/** The parts of a Pod the pod processes read. */
export interface Pod extends KubeObject {
  /** The spec. */
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    volumes?: {
      name: string;
      projected?: {
        sources?: {
          serviceAccountToken?: { path: string; expirationSeconds?: number; audience?: string };
        }[];
      };
    }[];
    containers: {
      name: string;
      command?: string[];
      args?: string[];
      env?: { name: string; value?: string }[];
    }[];
  };
  /** The status (kwok sets phase Running). */
  status?: { phase?: string };
}

/** A program pods can run. */
export interface PodProgram {
  /** File name of the binary in the bin directory of build.sh. */
  binary: string;
  /** Its arguments; by default the `args` of the pod's first container. */
  args?: (pod: Pod) => string[];
}

/** The programs, by the value of {@linkcode PROCESS_LABEL}. */
export const POD_PROGRAMS: Readonly<Record<string, PodProgram>> = {
  /** programs/cmd/incluster-client: lists and watches its namespace's ConfigMaps. */
  "incluster-client": { binary: "incluster-client" },
  /**
   * programs/cmd/sample-apiserver: k8s.io/sample-apiserver v0.37.2, an aggregated API server
   * (wardle.example.com) reaching the API with the pod's in-cluster config (aggregated_api.ts).
   */
  "sample-apiserver": { binary: "sample-apiserver" },
};

/** The program a pod runs, or `undefined` if it carries no label or names no known program. */
export function programOf(pod: Pod): { name: string; program?: PodProgram } | undefined {
  const name = pod.metadata.labels?.[PROCESS_LABEL];
  if (name === undefined) return undefined;
  return { name, program: Object.hasOwn(POD_PROGRAMS, name) ? POD_PROGRAMS[name] : undefined };
}

/** The command line of `program` for `pod`. */
export function programArgv(program: PodProgram, binDir: string, pod: Pod): string[] {
  const args = program.args ? program.args(pod) : pod.spec.containers[0]?.args ?? [];
  return [join(binDir, program.binary), ...args];
}
