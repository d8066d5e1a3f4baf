/**
 * The `components-healthy` check: every control-plane component with a static-pod manifest
 * answers its HTTP probe with 200 on every control-plane node. A probe that answered 200 earlier in
 * the same wait (`healthyProbes`) counts as healthy without another round trip.
 * @module
 */
import { COMPONENTS } from "../../plan/component.ts";
import { manifestPath } from "../../plan/node_paths.ts";
import { probeHealthy, probeUrl } from "../_component_health.ts";
import { compareText } from "../_namespace_selection.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

/** Probes each component the way its manifest's probe does. */
export async function checkComponentsHealthy(facts: CheckFacts): Promise<CheckFindings> {
  const { ctx } = facts;
  const problems: string[] = [];
  const notes: string[] = [];
  let healthy = 0;
  let checked = 0;
  await Promise.all(ctx.controlPlane.flatMap((node) =>
    COMPONENTS.map(async (component) => {
      const path = manifestPath(ctx.layout, component);
      const manifest = await node.readFile(path);
      if (manifest === undefined) return;
      const url = probeUrl(manifest);
      if (!url) {
        notes.push(`${node.name}/${component}: its manifest has no HTTP probe`);
        return;
      }
      checked++;
      const probe = `${node.name} ${url}`;
      if (facts.healthyProbes?.has(probe) || await probeHealthy(node, url)) {
        healthy++;
        facts.healthyProbes?.add(probe);
      } else problems.push(`${node.name}/${component}: ${url} does not answer 200`);
    })
  ));
  return {
    summary: `${healthy} of ${plural(checked, "component")} healthy on ${
      plural(ctx.controlPlane.length, "control-plane node")
    }`,
    problems: problems.sort(compareText),
    notes: notes.sort(compareText),
  };
}
