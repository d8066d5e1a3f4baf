/**
 * Every step kind ca-rotator implements, registered by kind name.
 * @module
 */
import { StepRegistry } from "../engine/registry.ts";
import { activateCa } from "./activate_ca.ts";
import { distributeCa } from "./distribute_ca.ts";
import { reissueLeaves } from "./reissue_leaves.ts";
import { removeOldCa } from "./remove_old_ca.ts";
import { restartComponent } from "./restart_component.ts";
import { rollKubelets } from "./roll_kubelets.ts";
import { rollWorkloads } from "./roll_workloads.ts";
import { setComponentFlags } from "./set_component_flags.ts";
import { updateClusterInfo } from "./update_cluster_info.ts";
import { updateKubeconfigs } from "./update_kubeconfigs.ts";
import { verify } from "./verify.ts";
import { verifyKubeletRotation } from "./verify_kubelet_rotation.ts";
import { waitRootCaConfigMaps } from "./wait_root_ca_configmaps.ts";

/** A registry holding every step kind of the plan format. */
export function defaultRegistry(): StepRegistry {
  return new StepRegistry()
    .register(distributeCa)
    .register(setComponentFlags)
    .register(restartComponent)
    .register(updateKubeconfigs)
    .register(activateCa)
    .register(reissueLeaves)
    .register(rollKubelets)
    .register(rollWorkloads)
    .register(updateClusterInfo)
    .register(waitRootCaConfigMaps)
    .register(verify)
    .register(verifyKubeletRotation)
    .register(removeOldCa);
}
