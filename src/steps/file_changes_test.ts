import assert from "node:assert/strict";
import type { Change } from "../engine/change.ts";
import type { CommandResult, FileWrite, NodeAccess, StagedFiles } from "../engine/node_access.ts";
import { applyFileChanges, type DesiredFile, fileChanges } from "./file_changes.ts";

/** A node whose batches take `delayMs`; it notes what it wrote and how many nodes wrote at once. */
class SlowNode implements NodeAccess {
  readonly written: string[] = [];
  constructor(
    readonly name: string,
    private readonly load: { now: number; max: number },
    private readonly delayMs = 20,
    private readonly fails = false,
  ) {}
  readFile(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
  async writeFiles(files: readonly FileWrite[]): Promise<void> {
    this.load.now++;
    this.load.max = Math.max(this.load.max, this.load.now);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.load.now--;
    if (this.fails) throw new Error(`${this.name}: disk full`);
    this.written.push(...files.map((file) => `${file.path}=${file.content ?? "(removed)"}`));
  }
  writeFile(path: string, content: string): Promise<void> {
    return this.writeFiles([{ path, content }]);
  }
  removeFile(path: string): Promise<void> {
    return this.writeFiles([{ path, content: undefined }]);
  }
  run(): Promise<CommandResult> {
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  }
}

function desired(node: string, path: string, current?: string, want?: string): DesiredFile {
  return { node, path, current, desired: want };
}

Deno.test("applyFileChanges writes each node's files in order, one node after another, when a driver cannot stage", async () => {
  const load = { now: 0, max: 0 };
  const nodes = Array.from({ length: 4 }, (_, i) => new SlowNode(`worker-${i}`, load, 5));
  const changes: Change[] = fileChanges(nodes.flatMap((node) => [
    desired(node.name, "/a", "old", "new"),
    desired(node.name, "/b", undefined, "created"),
    desired(node.name, "/c", "gone", undefined),
  ]));
  await applyFileChanges(nodes, changes);
  for (const node of nodes) {
    assert.deepEqual(node.written, ["/a=new", "/b=created", "/c=(removed)"], node.name);
  }
  assert.equal(load.max, 1, "never two nodes at once");
});

Deno.test("applyFileChanges without staging stops at a failing node: the nodes after it are untouched", async () => {
  const load = { now: 0, max: 0 };
  const nodes = [
    new SlowNode("cp-1", load),
    new SlowNode("cp-2", load, 5, true),
    new SlowNode("cp-3", load),
  ];
  const changes = fileChanges(
    nodes.flatMap((
      node,
    ) => [desired(node.name, "/x", "1", "2"), desired(node.name, "/y", "1", "2")]),
  );
  await assert.rejects(() => applyFileChanges(nodes, changes), /cp-2: disk full/);
  assert.deepEqual(nodes.map((node) => node.written.length), [2, 0, 0]);
});

/** A SlowNode whose driver stages: the stage takes `delayMs`, the commit writes what it staged. */
class StagingNode extends SlowNode {
  readonly staged: string[] = [];
  discarded = 0;
  constructor(
    name: string,
    private readonly stageLoad: { now: number; max: number },
    private readonly stageFails = false,
  ) {
    super(name, { now: 0, max: 0 });
  }
  async stageFiles(files: readonly FileWrite[]): Promise<StagedFiles> {
    this.stageLoad.now++;
    this.stageLoad.max = Math.max(this.stageLoad.max, this.stageLoad.now);
    await new Promise((resolve) => setTimeout(resolve, 10));
    this.stageLoad.now--;
    if (this.stageFails) throw new Error(`${this.name}: disk full`);
    this.staged.push(...files.map((file) => file.path));
    return {
      commit: () => this.writeFiles(files),
      discard: () => {
        this.discarded++;
        this.staged.length = 0;
        return Promise.resolve();
      },
    };
  }
}

Deno.test("applyFileChanges stages on every node at once, then puts the files in place", async () => {
  const load = { now: 0, max: 0 };
  const nodes = Array.from({ length: 4 }, (_, i) => new StagingNode(`worker-${i}`, load));
  const changes = fileChanges(nodes.flatMap((node) => [
    desired(node.name, "/a", "old", "new"),
    desired(node.name, "/c", "gone", undefined),
  ]));
  await applyFileChanges(nodes, changes);
  assert.equal(load.max, 4, "the nodes staged in parallel");
  for (const node of nodes) {
    assert.deepEqual(node.staged, ["/a", "/c"], node.name);
    assert.deepEqual(node.written, ["/a=new", "/c=(removed)"], node.name);
  }
});

Deno.test("applyFileChanges: a node that cannot stage leaves every node's files as they were", async () => {
  const load = { now: 0, max: 0 };
  const nodes = [
    new StagingNode("cp-1", load),
    new StagingNode("cp-2", load, true),
    new StagingNode("cp-3", load),
  ];
  const changes = fileChanges(
    nodes.flatMap((node) => [desired(node.name, "/x", "1", "2")]),
  );
  await assert.rejects(() => applyFileChanges(nodes, changes), /cp-2: disk full/);
  assert.deepEqual(nodes.map((node) => node.written.length), [0, 0, 0], "nothing put in place");
  assert.deepEqual(nodes.map((node) => node.discarded), [1, 0, 1], "the staged files removed");
});
