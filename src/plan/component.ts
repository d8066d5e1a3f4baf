/**
 * The control-plane components whose static-pod manifests a plan edits and restarts.
 * @module
 */
import { z } from "zod";

/** The control-plane components, in the order a kubeadm node starts them. */
export const COMPONENTS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "cloud-controller-manager",
] as const;

/** One control-plane component. */
export type Component = typeof COMPONENTS[number];

/** A `component` field. */
export const componentField = z.enum(COMPONENTS);
