/**
 * The images a kubeadm control plane runs at a given Kubernetes version, as kubeadm would pick them. The
 * sandbox only shows these on its static pods; nothing pulls them.
 */

/** Image repository kubeadm uses by default. */
export const IMAGE_REPOSITORY = "registry.k8s.io";

/** The control-plane components a kubeadm control-plane node runs as static pods. */
export const CONTROL_PLANE_COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** One of the static control-plane components. */
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

// The etcd image kubeadm pairs with each Kubernetes minor.
const ETCD_BY_MINOR: Readonly<Record<number, string>> = {
  25: "3.5.6-0",
  26: "3.5.6-0",
  27: "3.5.7-0",
  28: "3.5.9-0",
  29: "3.5.10-0",
  30: "3.5.12-0",
  31: "3.5.15-0",
  32: "3.5.16-0",
  33: "3.5.21-0",
  34: "3.6.4-0",
  35: "3.6.5-0",
  36: "3.6.6-0",
  37: "3.6.6-0",
};

/** The image of a control-plane component at Kubernetes `version` (`MAJOR.MINOR.PATCH`). */
export function componentImage(component: ControlPlaneComponent, version: string): string {
  if (component === "etcd") {
    const minor = Number(version.split(".")[1]);
    return `${IMAGE_REPOSITORY}/etcd:${ETCD_BY_MINOR[minor] ?? "3.6.6-0"}`;
  }
  return `${IMAGE_REPOSITORY}/${component}:v${version}`;
}
