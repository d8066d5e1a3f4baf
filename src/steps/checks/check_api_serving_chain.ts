/**
 * The `api-serving-chain` check: every API server endpoint serves a chain to the CA the phase
 * expects (the old CA after trust, the new one after switch, and no longer to the old one alone
 * after finalize).
 * @module
 */
import { type ApiEndpoint, planApiServerEndpoints, probeServingChain } from "../_serving_chain.ts";
import { compareText } from "../_namespace_selection.ts";
import { type CheckFacts, type CheckFindings, plural } from "./_check.ts";

/** Probes the TLS chain every API server endpoint serves. */
export async function checkApiServingChain(facts: CheckFacts): Promise<CheckFindings> {
  const { ctx, expectations, newPem, oldPem } = facts;
  const { endpoints, problems } = await planApiServerEndpoints(ctx);
  const notes: string[] = [];
  if (endpoints.length === 0) problems.push("no API server endpoint to check");
  const wanted = expectations.serving === "old" ? oldPem : newPem;
  const wantedName = expectations.serving === "old" ? "the old CA" : "the new CA";
  if (wanted === undefined) {
    return {
      summary: "cannot tell the old CA",
      problems: [...problems, "the old CA is not on the nodes (no CA bundle): give it to verify"],
      notes,
    };
  }
  if (expectations.serving === "new-only" && oldPem === undefined) {
    notes.push(
      "the old CA is no longer on the nodes: checked the chain to the new CA, not its absence",
    );
  }
  const name = (endpoint: ApiEndpoint) => `${endpoint.url} (${endpoint.source})`;
  let ok = 0;
  await Promise.all(endpoints.map(async (endpoint) => {
    const probe = await probeServingChain(endpoint, wanted);
    if (!probe.ok) {
      // Say which CA it does serve, when that is the other one of the rotation.
      const other = expectations.serving === "old" ? newPem : oldPem;
      const otherName = expectations.serving === "old" ? "the new CA" : "the old CA";
      const instead = other && (await probeServingChain(endpoint, other, { verifyHostname: false }))
          .ok
        ? `it serves a chain to ${otherName}`
        : shortTlsError(probe.error ?? "");
      problems.push(`${name(endpoint)} does not serve a chain to ${wantedName}: ${instead}`);
      return;
    }
    if (probe.nameMismatch) notes.push(`${name(endpoint)}: ${probe.error}`);
    if (expectations.serving === "new-only" && oldPem !== undefined) {
      const old = await probeServingChain(endpoint, oldPem, { verifyHostname: false });
      if (old.ok) {
        problems.push(`${name(endpoint)} still serves a chain the old CA verifies`);
        return;
      }
    }
    ok++;
  }));
  return {
    summary: `${ok} of ${plural(endpoints.length, "endpoint")} serve a chain to ${wantedName}` +
      (expectations.serving === "new-only" && oldPem ? " and not to the old CA" : ""),
    problems: problems.sort(compareText),
    notes: notes.sort(compareText),
  };
}

/** rustls errors carry a debug dump of OIDs after the reason: keep the reason. */
function shortTlsError(error: string): string {
  return error.replace(/\s*\{[^]*$/, "");
}
