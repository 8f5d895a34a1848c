/**
 * The one place bosun builds `@kubernetes/client-node` configuration: from a kubeconfig file and context,
 * or from the environment's default kubeconfig.
 */
import * as k8s from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.js";
import { kubeconfigProblem } from "./connect.js";

/** Loads a kubeconfig file and selects a context in it. */
export function loadKubeConfig(file: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new InvalidInputError(`cannot read kubeconfig ${file}: ${kubeconfigProblem(error)}`);
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context)) {
      throw new InvalidInputError(`kubeconfig ${file} has no context "${context}"`);
    }
    kc.setCurrentContext(context);
  }
  return kc;
}

/** Typed API clients for one cluster. */
export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  coordination: k8s.CoordinationV1Api;
  objects: k8s.KubernetesObjectApi;
}

/** Creates the API clients bosun uses against one cluster. */
export function clientsFor(kc: k8s.KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}
