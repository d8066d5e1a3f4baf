/**
 * The Kubernetes binaries the test cluster runs: built by build.sh (through the Go module
 * proxy, cached outside the repository by version) on first use, instant afterwards.
 * @module
 */
import { textLines } from "./text_lines.ts";

/** Path of build.sh beside this file. */
export const BUILD_SCRIPT = new URL("./build.sh", import.meta.url).pathname;

/** Binaries build.sh produces (the last: test programs the pods' processes run, programs/). */
export const BINARIES = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kubeadm",
  "etcd",
  "etcdctl",
  "kwok",
  "incluster-client",
  "sample-apiserver",
  "kubelet-client",
] as const;

/** Runs build.sh (progress lines go to `log`) and returns the bin directory it prints last. */
export async function ensureBinaries(log: (line: string) => void = console.error): Promise<string> {
  const child = new Deno.Command("bash", {
    args: [BUILD_SCRIPT],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  const progress = (async () => {
    for await (const line of textLines(child.stderr)) {
      if (line.startsWith("[build]")) {
        log(line);
      } else {
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    }
  })();
  const stdout = new Response(child.stdout).text();
  const [status, out] = await Promise.all([child.status, stdout, progress]).then(([s, o]) =>
    [s, o] as const
  );
  if (!status.success) {
    throw new Error(`${BUILD_SCRIPT} failed (exit ${status.code}):\n${tail.join("\n")}`);
  }
  const binDir = out.trim().split("\n").pop() ?? "";
  for (const name of BINARIES) {
    try {
      await Deno.stat(`${binDir}/${name}`);
    } catch {
      throw new Error(`${BUILD_SCRIPT} printed "${binDir}" but ${name} is not there`);
    }
  }
  return binDir;
}
