import assert from "node:assert/strict";
import { renderMarkdownSummary, type RunReport } from "./markdown_summary.ts";
import { assertNoKeyMaterial, generateTestKeys } from "../diff/_test_keys.ts";

const steps: RunReport["steps"] = [
  { id: "distribute-cluster-ca", phase: "trust", kind: "distribute-ca" },
  { id: "restart-apiserver", phase: "trust", kind: "restart-component" },
  { id: "activate-ca", phase: "switch", kind: "activate-ca" },
];

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    plan: "prod",
    planFile: "plans/prod.yaml",
    dryRun: true,
    stopAfter: "trust",
    outcome: "done",
    sections: [],
    steps,
    skipped: [],
    next: { step: "distribute-cluster-ca", phase: "trust" },
    ...overrides,
  };
}

Deno.test("a dry run's summary collapses each step's diff in <details>, keys masked", () => {
  const keys = generateTestKeys();
  const markdown = renderMarkdownSummary(report({
    sections: [{
      stepId: "distribute-cluster-ca",
      phase: "trust",
      kind: "distribute-ca",
      changes: [
        {
          action: "create",
          target: { type: "file", node: "cp-1", path: "/etc/kubernetes/pki/new-ca.key" },
          after: keys.pkcs8,
          sensitive: true,
        },
        {
          action: "update",
          target: { type: "file", node: "cp-1", path: "/etc/kubernetes/note.txt" },
          before: "old ``` fence\n",
          after: "new\n",
        },
      ],
    }, {
      stepId: "restart-apiserver",
      phase: "trust",
      kind: "restart-component",
      changes: [{
        action: "restart",
        target: { type: "component", node: "cp-1", component: "kube-apiserver" },
      }],
    }],
  }));
  assertNoKeyMaterial(markdown, keys.pkcs8);
  assert.match(markdown, /^## ca-rotator dry run: `prod`$/m);
  assert.match(markdown, /\| Outcome \| 📝 planned, nothing changed \|/);
  assert.match(markdown, /\| Would change \| 2 files, 0 objects, 1 restart, 0 workloads \|/);
  assert.match(
    markdown,
    /<details>\n<summary><code>distribute-cluster-ca<\/code> — trust, distribute-ca: 2 changes<\/summary>\n\n````diff\n/,
    "the fence is longer than the backticks inside",
  );
  assert.match(
    markdown,
    /<summary><code>restart-apiserver<\/code> — trust, restart-component: 1 change</,
  );
  assert.equal(markdown.match(/<details>/g)?.length, 2);
  assert.equal(markdown.match(/<\/details>/g)?.length, 2);
  assert.match(
    markdown,
    /\*\*Next:\*\* a run with `stopAfter: trust` runs 2 steps, from `distribute-cluster-ca` to `restart-apiserver`\./,
  );
});

Deno.test("the summary says what the next run does after each outcome", () => {
  const after = (overrides: Partial<RunReport>) =>
    renderMarkdownSummary(report({ dryRun: false, ...overrides })).match(/\*\*Next:\*\* (.*)/)![1];
  assert.equal(
    after({ next: { step: "activate-ca", phase: "switch" }, skipped: ["distribute-cluster-ca"] }),
    "phase `switch` starts at step `activate-ca` once a commit moves `stopAfter` to `switch`.",
  );
  assert.equal(
    after({
      outcome: "gate",
      gate: "[pod-trust] gate closed: 2 pods",
      next: { step: "restart-apiserver", phase: "trust" },
    }),
    "a run retries the gate `restart-apiserver` (phase trust) and goes on once it opens.",
  );
  assert.equal(
    after({
      outcome: "failed",
      error: "[restart-apiserver] verify: timed out",
      next: { step: "restart-apiserver", phase: "trust" },
    }),
    "a run resumes at step `restart-apiserver` (phase trust), which failed.",
  );
  assert.equal(after({ next: undefined }), "nothing: every step of the plan is done.");
  // A run that failed before it knew where it stood (a plan that did not load): no step ran.
  assert.equal(
    after({ outcome: "failed", error: "Cannot load plan", next: undefined, steps: [] }),
    "fix what the error says and run again; `status` shows where the rotation stands.",
  );
});

Deno.test("a failed run's summary shows the outcome and the error in a block", () => {
  const markdown = renderMarkdownSummary(report({
    dryRun: false,
    outcome: "failed",
    error: "[restart-apiserver] verify: <timed out>",
    applied: [{
      step: "distribute-cluster-ca",
      action: "create",
      target: "cp-1:/etc/kubernetes/pki/ca-new.crt",
    }],
  }));
  assert.match(markdown, /\| Outcome \| ❌ failed \|/);
  assert.match(markdown, /\| Changed \| nothing \|/);
  assert.match(markdown, /\*\*Error:\*\*\n\n```\n\[restart-apiserver\] verify: <timed out>\n```/);
  assert.match(
    markdown,
    /<details>\n<summary>Applied before the failure: 1 change<\/summary>\n\n- `distribute-cluster-ca` create `cp-1:\/etc\/kubernetes\/pki\/ca-new.crt`\n/,
  );
});

Deno.test("a run's summary shows the rotation's timeline when it has one", () => {
  const chart = "```mermaid\ngantt\n  section trust\n```";
  assert.match(
    renderMarkdownSummary(report({ dryRun: false, timeline: chart })),
    /### Timeline\n\n```mermaid\ngantt\n {2}section trust\n```\n/,
  );
  assert.doesNotMatch(renderMarkdownSummary(report({ dryRun: false })), /Timeline/);
});

Deno.test("a dry run's summary lists the impact of the rest of the plan", () => {
  const markdown = renderMarkdownSummary(report({
    impact: ["Impact of the rest of the plan:", "  kube-apiserver restarts 3 times <on> each"],
  }));
  assert.match(markdown, /### Impact\n\n- kube-apiserver restarts 3 times &lt;on&gt; each\n/);
});

Deno.test("a read-only dry run's summary says which node inventory it read, with its warnings", () => {
  const markdown = renderMarkdownSummary(report({
    nodeInventory: {
      recordedAt: "2026-12-06T10:00:00.000Z",
      recordedBy: "runner/42",
      age: "2d0h",
      warnings: ["the node inventory is 2d0h old: node files may have changed since"],
    },
  }));
  assert.match(
    markdown,
    /\| Nodes \| from the node inventory recorded at 2026-12-06T10:00:00\.000Z \(2d0h ago\) by runner\/42<br>⚠️ the node inventory is 2d0h old/,
  );
  assert.doesNotMatch(renderMarkdownSummary(report()), /node inventory/);
});
