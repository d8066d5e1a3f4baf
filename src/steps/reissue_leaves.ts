/**
 * `reissue-leaves`: re-issues leaf certificates in the PKI directory (apiserver,
 * apiserver-kubelet-client, front-proxy-client, …) and the client certificates inside
 * kubeconfigs with the new CA, keeping subject, SANs, usages and key. A leaf the new CA already
 * issued is left alone, so a resumed run re-issues only what is left.
 *
 * With `restart`, the step also restarts that component one node at a time and puts each node's
 * files in place while it is down there. A running API server reloads its kubelet client
 * certificate when the file changes, and closes every connection to every kubelet when it does
 * (client-go's certificate rotation): the `kubectl logs/exec` in flight fail. Written while it
 * is stopped, the file is loaded at start, never reloaded. A node whose manifest this step marked
 * and whose files are in place is done; one marked but whose files are not (a run killed in
 * between) is restarted again.
 * @module
 */
import { z } from "zod";
import { defineStepKind } from "../engine/step.ts";
import {
  issuedBy,
  LEAF_VALIDITY_DAYS,
  loadCa,
  parseCertificate,
  reissueLeaf,
  type x509,
} from "../pki/mod.ts";
import type { CaName } from "../plan/ca.ts";
import { kubeconfigClientCert, setKubeconfigClientCert } from "../formats/kubeconfig_file.ts";
import { applyFileChanges, type DesiredFile, fileChanges, stageByNode } from "./file_changes.ts";
import { applyManifestChanges, manifestChanges, type ManifestEdit } from "./static_pod_files.ts";
import { manifestAnnotation, setManifestAnnotation } from "../formats/static_pod_manifest.ts";
import type { Change } from "../engine/change.ts";
import { stepBase } from "../plan/step_format.ts";
import { positiveInt } from "../plan/fields.ts";
import { componentField } from "../plan/component.ts";
import { ifPresentSubset } from "../plan/rules.ts";
import { caField, certName, fileName, healthTimeoutSeconds } from "./_step_fields.ts";
import { kubeconfigPath, leafPaths, manifestPath } from "../plan/node_paths.ts";
import { RESTARTED_BY } from "./_annotations.ts";
import { restoreControlPlane } from "./restore_control_plane.ts";

/**
 * `reissue-leaves` parameters: leaf certificates (`<pkiDir>/<name>.crt`) and the client
 * certificates inside kubeconfigs to re-issue with the new CA, keeping subject, SANs and usages.
 */
export const ReissueLeavesStep = z.strictObject({
  ...stepBase,
  kind: z.literal("reissue-leaves"),
  ca: caField,
  certs: z.array(certName).default([]),
  /** Kubeconfigs (relative to `layout.kubeconfigDir`, or absolute) whose client cert to re-issue. */
  kubeconfigs: z.array(fileName).default([]),
  /** Names (of `certs` or `kubeconfigs`) re-issued only on the nodes that have them. */
  ifPresent: z.array(fileName).default([]),
  /** Validity of the new leaves; absent: the same lifetime as the certificate replaced. */
  validityDays: positiveInt.optional(),
  /**
   * A component to restart on each control-plane node, one at a time, with that node's
   * re-issued files put in place while it is down (see the module's note).
   */
  restart: componentField.optional(),
  /** Tuning: with `restart`, how long to wait for the component to be healthy on each node. */
  healthTimeoutSeconds,
});

type Step = z.infer<typeof ReissueLeavesStep>;

/** What the step found: the files to re-issue and, with `restart`, each node's restart mark. */
interface Reissue {
  readonly files: DesiredFile[];
  readonly restarts: ManifestEdit[];
}

/** True when `mark` is this step's restart mark (`id`, or `id+`… for a restart repeated). */
function markedBy(mark: string | undefined, stepId: string): boolean {
  return mark !== undefined && mark.startsWith(stepId) && /^\+*$/.test(mark.slice(stepId.length));
}

const DAY_MS = 86_400_000;

function lifetimeDays(cert: x509.X509Certificate): number {
  return Math.max(1, Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / DAY_MS));
}

/**
 * The longest lifetime, in days, of the certificates a plan issues with its new `ca`: its
 * reissue-leaves steps' `validityDays`, and kubeadm's (and the controller-manager's signing
 * duration's) default of {@link LEAF_VALIDITY_DAYS} for the leaves re-issued with their own
 * lifetime and the certificates the controller-manager signs.
 */
export function longestLeafDays(steps: readonly { kind: string }[], ca: CaName): number {
  const days = steps
    .filter((step): step is Step => step.kind === "reissue-leaves" && (step as Step).ca === ca)
    .map((step) => step.validityDays ?? LEAF_VALIDITY_DAYS);
  return Math.max(LEAF_VALIDITY_DAYS, ...days);
}

/** The reissue-leaves step kind. */
export const reissueLeaves = defineStepKind<Step, Reissue>({
  kind: "reissue-leaves",
  schema: ReissueLeavesStep,
  undo: { by: [restoreControlPlane] },
  tuning: ["healthTimeoutSeconds"],
  drift: {
    hold:
      "components load re-issued certificates only at the restarts of later, done steps: re-issuing again would not reach them; an operator restores or re-runs what is needed",
  },
  phases: ["switch"],
  needsEarlier: ["activate-ca"],
  rules(step) {
    const issues = ifPresentSubset(
      step.ifPresent,
      [...step.certs, ...step.kubeconfigs],
      "this step's certs/kubeconfigs",
    );
    if (step.certs.length === 0 && step.kubeconfigs.length === 0) {
      issues.push({ path: [], message: "must re-issue at least one of certs, kubeconfigs" });
    }
    if (step.ca !== "cluster" && step.kubeconfigs.length > 0) {
      issues.push({
        path: ["kubeconfigs"],
        message: `kubeconfig client certificates are issued by the cluster CA, not ${step.ca}`,
      });
    }
    return issues;
  },

  async observe(ctx, step) {
    const pair = ctx.cas.get(step.ca);
    const ca = await loadCa(pair.certPem, pair.keyPem, `new ${step.ca} CA`);
    const reissue = async (certPem: string, keyPem: string, source: string) => {
      const cert = parseCertificate(certPem, source);
      if (await issuedBy(cert, ca.cert)) return undefined;
      const leaf = await reissueLeaf({
        cert,
        keyPem,
        ca,
        validityDays: step.validityDays ?? lifetimeDays(cert),
        source,
      });
      return leaf.certPem;
    };
    const files: DesiredFile[] = [];
    const restarts: ManifestEdit[] = [];
    for (const node of ctx.controlPlane) {
      const nodeFilesFrom = files.length;
      for (const name of step.certs) {
        const { cert: certPath, key: keyPath } = leafPaths(ctx.layout, name);
        const current = await node.readFile(certPath);
        const key = await node.readFile(keyPath);
        if (current === undefined || key === undefined) {
          if (step.ifPresent.includes(name)) continue;
          throw new Error(`${node.name}: ${current === undefined ? certPath : keyPath} is missing`);
        }
        const desired = await reissue(current, key, `${node.name}:${certPath}`);
        files.push({
          node: node.name,
          path: certPath,
          current,
          desired: desired ?? current,
          reason: `re-issued by the new ${step.ca} CA`,
        });
      }
      for (const file of step.kubeconfigs) {
        const path = kubeconfigPath(ctx.layout, file);
        const current = await node.readFile(path);
        if (current === undefined) {
          if (step.ifPresent.includes(file)) continue;
          throw new Error(`${node.name}: ${path} is missing`);
        }
        const client = kubeconfigClientCert(current, `${node.name}:${path}`);
        if (!client.certPem || !client.keyPem) {
          throw new Error(`${node.name}: ${path} has no inline client certificate and key`);
        }
        const desired = await reissue(client.certPem, client.keyPem, `${node.name}:${path}`);
        files.push({
          node: node.name,
          path,
          current,
          desired: desired ? setKubeconfigClientCert(current, desired, undefined, path) : current,
          mode: 0o600,
          reason: `client certificate re-issued by the new ${step.ca} CA`,
        });
      }
      if (step.restart) {
        const changing = files.slice(nodeFilesFrom).some((file) => file.current !== file.desired);
        const path = manifestPath(ctx.layout, step.restart);
        const current = await node.readFile(path);
        if (current === undefined) throw new Error(`${node.name}: ${path} is missing`);
        const mark = manifestAnnotation(current, RESTARTED_BY);
        const done = markedBy(mark, ctx.stepId);
        restarts.push({
          node: node.name,
          path,
          component: step.restart,
          current,
          desired: done && !changing ? current : setManifestAnnotation(
            current,
            RESTARTED_BY,
            done ? `${mark}+` : ctx.stepId,
            `${node.name}:${path}`,
          ),
          mode: 0o600,
          reason: `restarted with its re-issued files put in place while it is down`,
        });
      }
    }
    return { files, restarts };
  },

  diff: ({ files, restarts }) =>
    restarts.length === 0 ? fileChanges(files) : restarts.flatMap((edit) => [
      ...manifestChanges([edit]),
      ...fileChanges(files.filter((file) => file.node === edit.node)),
    ]),

  async apply(ctx, step, changes) {
    if (!step.restart) {
      await applyFileChanges(ctx.controlPlane, changes);
      return;
    }
    const manifest = manifestPath(ctx.layout, step.restart);
    const restarting = (change: Change) =>
      change.target.type === "component" ||
      (change.target.type === "file" && change.target.path === manifest);
    const staged = await stageByNode(ctx.controlPlane, changes.filter((c) => !restarting(c)));
    try {
      await applyManifestChanges(
        ctx,
        ctx.controlPlane,
        changes.filter(restarting),
        step.healthTimeoutSeconds,
        async (node) => {
          const files = staged.get(node);
          staged.delete(node);
          await files?.commit();
        },
      );
    } finally {
      await Promise.allSettled([...staged.values()].map((files) => files.discard()));
    }
  },

  async verify(ctx, step) {
    const newCa = parseCertificate(ctx.cas.get(step.ca).certPem);
    const byNewCa = async (node: string, path: string, certPem: string, what = path) => {
      if (!(await issuedBy(parseCertificate(certPem, `${node}:${path}`), newCa))) {
        throw new Error(`${node}: ${what} is not issued by the new CA`);
      }
    };
    for (const node of ctx.controlPlane) {
      for (const name of step.certs) {
        const path = leafPaths(ctx.layout, name).cert;
        const current = await node.readFile(path);
        if (current === undefined) {
          if (step.ifPresent.includes(name)) continue;
          throw new Error(`${node.name}: ${path} is missing`);
        }
        await byNewCa(node.name, path, current);
      }
      for (const file of step.kubeconfigs) {
        const path = kubeconfigPath(ctx.layout, file);
        const current = await node.readFile(path);
        if (current === undefined) {
          if (step.ifPresent.includes(file)) continue;
          throw new Error(`${node.name}: ${path} is missing`);
        }
        const client = kubeconfigClientCert(current, `${node.name}:${path}`);
        if (!client.certPem) {
          throw new Error(`${node.name}: ${path} has no inline client certificate`);
        }
        await byNewCa(node.name, path, client.certPem, `the client certificate of ${path}`);
      }
    }
  },
});
