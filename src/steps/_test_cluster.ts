/**
 * The test cluster of the step kind tests: the kubeadm nodes (`_test_kubeadm_nodes.ts`) laid out
 * in temporary directories, the plan they belong to, parsed by the real plan format, `local`
 * node drivers built from that plan, and a {@link StepContext} over them with a memory printer
 * and a `waitFor` that asks its condition once.
 *
 * There is no Kubernetes API here: `ctx.cluster` throws on any use, so a step that reaches for
 * the API fails loudly. What needs the API is covered by the end-to-end test against a real
 * control plane (`test/cluster/harness.ts`, whose `TestCluster` is that other cluster).
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClusterApi } from "../engine/cluster_api.ts";
import { caMaterialOf, type CaPair } from "../engine/ca_material.ts";
import type { CommandResult, NodeAccess, WriteOptions } from "../engine/node_access.ts";
import { memoryPrinter } from "../engine/printer.ts";
import type { StepContext } from "../engine/step.ts";
import { nodesOf } from "../nodes/from_plan.ts";
import { LocalNode } from "../nodes/local.ts";
import { OverlayNode } from "../engine/overlay_node.ts";
import type { Layout } from "../plan/layout.ts";
import { parsePlanWith, planFormat } from "../plan/load.ts";
import type { PlanSettings } from "../plan/schema.ts";
import { waitDone } from "../engine/events.ts";
import { distributeCa } from "./distribute_ca.ts";
import { CONTROL_PLANE, layOutNode, type NodeSpec, WORKERS } from "./_test_kubeadm_nodes.ts";
import { caPair, type TestCas, testCas } from "./_test_pki.ts";

/**
 * Where each node's loopback is, for the components' HTTP probes (`https://127.0.0.1:10257/…`):
 * addresses nothing listens on, so a probe fails at once instead of reaching this machine's own
 * services.
 */
const PROBE_ADDRESSES: Record<string, string> = {
  "cp-1": "127.0.93.1",
  "cp-2": "127.0.93.2",
  "worker-1": "127.0.93.11",
};

/** Where the driver keeps its backups on a node (the `kubeadm` layout preset's). */
export const BACKUP_DIR = "/var/lib/ca-rotator/backup";

/** A `ClusterApi` that is not there: any use throws, so a step that needs the API fails loudly. */
export const NO_CLUSTER_API: ClusterApi = new Proxy({} as ClusterApi, {
  get(_target, property) {
    throw new Error(
      `no Kubernetes API in these tests (cluster.${String(property)}): ` +
        `the end-to-end test covers what needs it`,
    );
  },
});

/** A step context over the test cluster, with what the step printed and waited for. */
export interface TestContext extends StepContext {
  readonly log: ReturnType<typeof memoryPrinter>;
  /** What the step waited for, in order (the `waitFor` descriptions). */
  readonly waits: string[];
}

/** Options of {@link LocalNodesCluster.context}. */
export interface ContextOptions {
  readonly stepId?: string;
  /** True: a dry run (`waitFor` returns at once, as the runner's does). */
  readonly dryRun?: boolean;
  /** Other node access than the cluster's own (overlays, recording wrappers). */
  readonly controlPlane?: readonly NodeAccess[];
  readonly workers?: readonly NodeAccess[];
  /** Where `waitFor` also records what it waits for, as `wait <description>` (see `recording`). */
  readonly events?: string[];
}

/** Options of {@link LocalNodesCluster.create}. */
export interface ClusterOptions {
  /** Whether the plan has `nodes.workers` (default true). */
  readonly workers?: boolean;
  /**
   * `layout.kubeletRestart`. Default: a command that only counts restarts in
   * `$NODE_ROOT/var/log/kubelet-restarts` (never the host's own kubelet).
   */
  readonly kubeletRestart?: readonly string[];
}

/** A command run by the local driver (`NODE_ROOT` set) that records a kubelet restart. */
export const RECORD_KUBELET_RESTART: readonly string[] = [
  "sh",
  "-c",
  'mkdir -p "$NODE_ROOT/var/log" && echo restarted >> "$NODE_ROOT/var/log/kubelet-restarts"',
];

/**
 * Two kubeadm control-plane nodes and a worker in temporary directories, reached with `local`
 * node drivers, and their plan; no Kubernetes API.
 */
export class LocalNodesCluster {
  private constructor(
    readonly base: string,
    readonly plan: PlanSettings,
    readonly controlPlane: readonly LocalNode[],
    readonly workers: readonly LocalNode[],
    readonly cas: TestCas,
    readonly newCas: { readonly cluster: CaPair; readonly frontProxy: CaPair },
  ) {}

  /** Lays out fresh node roots, as kubeadm left them, and parses their plan. */
  static async create(options: ClusterOptions = {}): Promise<LocalNodesCluster> {
    const cas = await testCas();
    const base = await Deno.makeTempDir({ prefix: "ca-rotator-steps-" });
    const workers = options.workers === false ? [] : WORKERS;
    for (const node of [...CONTROL_PLANE, ...workers]) {
      await layOutNode(join(base, node.name), node.name);
    }
    const group = (nodes: readonly NodeSpec[]) => ({
      driver: "local",
      roots: nodes.map((node) => join(base, node.name)),
      names: nodes.map((node) => node.name),
      addresses: nodes.map((node) => PROBE_ADDRESSES[node.name]),
    });
    const text = JSON.stringify(
      {
        apiVersion: "ca-rotator.dev/v1",
        kind: "RotationPlan",
        metadata: { name: "steps-test" },
        stopAfter: "finalize",
        layout: {
          preset: "kubeadm",
          kubeletRestart: options.kubeletRestart ?? RECORD_KUBELET_RESTART,
        },
        nodes: {
          controlPlane: group(CONTROL_PLANE),
          ...(workers.length > 0 ? { workers: group(workers) } : {}),
        },
        cas: { cluster: { source: "generate" }, frontProxy: { source: "generate" } },
        steps: [{ id: "distribute", phase: "trust", kind: "distribute-ca", ca: "cluster" }],
      },
      null,
      2,
    );
    const { plan } = parsePlanWith(planFormat([distributeCa]), text, join(base, "plan.yaml"));
    const local = (nodes: readonly NodeAccess[]) =>
      nodes.map((node) => {
        assert.ok(node instanceof LocalNode, `${node.name} is not a local node`);
        return node;
      });
    return new LocalNodesCluster(
      base,
      plan,
      local(nodesOf(plan.nodes.controlPlane, plan.layout)),
      local(nodesOf(plan.nodes.workers, plan.layout)),
      cas,
      { cluster: await caPair(cas.newCluster), frontProxy: await caPair(cas.newFrontProxy) },
    );
  }

  /** The plan's resolved layout (the kubeadm preset). */
  get layout(): Layout {
    return this.plan.layout;
  }

  /** Every node, control plane first. */
  get nodes(): readonly LocalNode[] {
    return [...this.controlPlane, ...this.workers];
  }

  /** The node named `name`. */
  node(name: string): LocalNode {
    const node = this.nodes.find((each) => each.name === name);
    if (!node) throw new Error(`no test node "${name}"`);
    return node;
  }

  /** A step context over this cluster's nodes (or the ones given). */
  context(options: ContextOptions = {}): TestContext {
    const waits: string[] = [];
    const events = options.events;
    const dryRun = options.dryRun ?? false;
    return {
      stepId: options.stepId ?? "test-step",
      dryRun,
      layout: this.layout,
      workloads: this.plan.workloads,
      planDir: this.base,
      rotationStartedAt: new Date(),
      controlPlane: options.controlPlane ?? this.controlPlane,
      workers: options.workers ?? this.workers,
      cluster: NO_CLUSTER_API,
      cas: caMaterialOf(this.newCas),
      log: memoryPrinter(),
      waits,
      async waitFor(description, condition) {
        waits.push(description);
        events?.push(`wait ${description}`);
        if (dryRun) return;
        if (!waitDone(await condition())) throw new Error(`timed out waiting for ${description}`);
      },
      progress() {},
    };
  }

  /**
   * A dry-run context: every node behind an {@link OverlayNode}, so writes stay in memory and
   * later reads see them, as the runner's dry run does.
   */
  dryRun(options: Omit<ContextOptions, "dryRun" | "controlPlane" | "workers"> = {}): TestContext {
    return this.context({
      ...options,
      dryRun: true,
      controlPlane: this.controlPlane.map((node) => new OverlayNode(node)),
      workers: this.workers.map((node) => new OverlayNode(node)),
    });
  }

  /** Writes a file on a node as an operator (or kubeadm) would: no backup. */
  async put(node: string, path: string, text: string, mode = 0o644): Promise<void> {
    const target = this.node(node).hostPath(path);
    await Deno.mkdir(join(target, ".."), { recursive: true });
    await Deno.writeTextFile(target, text, { mode });
  }

  /** Reads a file on a node; fails when it is missing. */
  async read(node: string, path: string): Promise<string> {
    const text = await this.node(node).readFile(path);
    assert.ok(text !== undefined, `${node}:${path} is missing`);
    return text;
  }

  /** The permission bits of a file on a node. */
  async mode(node: string, path: string): Promise<number> {
    return (await Deno.stat(this.node(node).hostPath(path))).mode! & 0o777;
  }

  /**
   * Every file of every node root, by `node:path`, backups left out: to prove that a step
   * changed exactly what its diff said, or nothing at all.
   */
  async snapshot(): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const node of this.nodes) {
      for await (const path of walk(node.root, "")) {
        if (path.startsWith(BACKUP_DIR + "/")) continue;
        files.set(`${node.name}:${path}`, await Deno.readTextFile(join(node.root, path)));
      }
    }
    return files;
  }

  /** The backups the driver kept of a node file, oldest first. */
  async backups(node: string, path: string): Promise<string[]> {
    const local = this.node(node);
    const dir = local.hostPath(join(BACKUP_DIR, path, ".."));
    const name = path.split("/").at(-1)!;
    const found: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.startsWith(`${name}.`)) found.push(join(BACKUP_DIR, path, "..", entry.name));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return found.sort();
  }

  /** Removes the node roots. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.base, { recursive: true });
  }
}

async function* walk(root: string, dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(root, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(root, path);
    else yield path;
  }
}

/**
 * Node access that records, in `events`, every write, removal and command before passing it on:
 * with the context's `waitFor` recording into the same list, the order of writes, restarts and
 * waits across nodes shows.
 */
export function recording(nodes: readonly NodeAccess[], events: string[]): NodeAccess[] {
  return nodes.map((node) => ({
    name: node.name,
    readFile: (path: string) => node.readFile(path),
    writeFile(path: string, content: string, options?: WriteOptions) {
      events.push(`write ${node.name}:${path}`);
      return node.writeFile(path, content, options);
    },
    removeFile(path: string) {
      events.push(`remove ${node.name}:${path}`);
      return node.removeFile(path);
    },
    run(command: readonly string[]): Promise<CommandResult> {
      events.push(`run ${node.name}: ${command.join(" ")}`);
      return node.run(command);
    },
    reachableUrl: (url: string) => node.reachableUrl?.(url) ?? url,
  }));
}
