import assert from "node:assert/strict";
import {
  globMatches,
  namespaceSelected,
  orderNamespaces,
  orderRank,
} from "./_namespace_selection.ts";

Deno.test("globMatches: * and ? globs, anchored, other characters literal", () => {
  assert.ok(globMatches("*", "kube-system"));
  assert.ok(globMatches("team-*", "team-a"));
  assert.ok(globMatches("team-*", "team-"));
  assert.ok(!globMatches("team-*", "xteam-a"));
  assert.ok(globMatches("app-?", "app-1"));
  assert.ok(!globMatches("app-?", "app-12"));
  assert.ok(globMatches("kube-system", "kube-system"));
  assert.ok(!globMatches("kube-system", "kube-system2"));
  assert.ok(!globMatches("kube", "kube-system"));
});

Deno.test("namespaceSelected: included and not excluded", () => {
  const selector = { include: ["*"], exclude: ["kube-*", "local-path-storage"] };
  assert.ok(namespaceSelected("default", selector));
  assert.ok(!namespaceSelected("kube-system", selector));
  assert.ok(!namespaceSelected("kube-public", selector));
  assert.ok(!namespaceSelected("local-path-storage", selector));
  assert.ok(!namespaceSelected("team-a", { include: ["team-b", "app-*"], exclude: [] }));
  assert.ok(namespaceSelected("app-x", { include: ["team-b", "app-*"], exclude: [] }));
});

Deno.test("orderRank: the first order pattern matched, else last", () => {
  const order = ["kube-system", "ingress-*"];
  assert.equal(orderRank("kube-system", order), 0);
  assert.equal(orderRank("ingress-nginx", order), 1);
  assert.equal(orderRank("default", order), 2);
  assert.equal(orderRank("default", []), 0);
});

Deno.test("orderNamespaces: order groups first, each group and the rest alphabetically", () => {
  assert.deepEqual(
    orderNamespaces(
      ["zeta", "ingress-b", "default", "kube-system", "ingress-a", "alpha", "default"],
      ["kube-system", "ingress-*"],
    ),
    ["kube-system", "ingress-a", "ingress-b", "alpha", "default", "zeta"],
  );
  assert.deepEqual(orderNamespaces(["b", "a"], ["kube-system"]), ["a", "b"]);
});
