/**
 * Moving a sandbox node's static (mirror) pods to another image, as a kubelet does after kubeadm replaced
 * the manifests: the pod's spec image and its reported container image. Shared by the node agent, the
 * simulated Cluster API controller and the tests that set a cluster back.
 */
import type * as k8s from "@kubernetes/client-node";
import { httpStatus, retryOnConflict } from "../kube/errors.js";
import { componentImage, type ControlPlaneComponent } from "./images.js";

/** Sets the image of `<component>-<node>` in kube-system to the component's image at `version`; absent pods are left alone. */
export async function setStaticPodImage(core: k8s.CoreV1Api, component: ControlPlaneComponent, nodeName: string, version: string): Promise<void> {
  const name = `${component}-${nodeName}`;
  const image = componentImage(component, version);
  await retryOnConflict(async () => {
    let pod: k8s.V1Pod;
    try {
      pod = await core.readNamespacedPod({ name, namespace: "kube-system" });
    } catch (error) {
      if (httpStatus(error) === 404) return;
      throw error;
    }
    const container = pod.spec?.containers[0];
    if (container && container.image !== image) {
      container.image = image;
      pod = await core.replaceNamespacedPod({ name, namespace: "kube-system", body: pod });
    }
    const status = pod.status?.containerStatuses?.[0];
    if (status && status.image !== image) {
      status.image = image;
      await core.replaceNamespacedPodStatus({ name, namespace: "kube-system", body: pod });
    }
  });
}
