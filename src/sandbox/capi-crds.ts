/**
 * CustomResourceDefinitions that let a sandbox cluster play a Cluster API management cluster: `Cluster`
 * and `MachineDeployment` (`cluster.x-k8s.io/v1beta1`) and `KubeadmControlPlane`
 * (`controlplane.x-k8s.io/v1beta1`).
 *
 * Written for bosun from the field names of the v1beta1 API, not copied from Cluster API: each schema
 * declares the fields bosun reads or writes (versions, replicas, the control-plane reference, the
 * converged-status fields) and keeps everything else a real object carries with
 * `x-kubernetes-preserve-unknown-fields`, so objects exported from a real management cluster fit too.
 * The status subresource is on, as on the real kinds, so spec and status are written apart and only a
 * spec change bumps `metadata.generation`; the scale subresource lets `kubectl scale` work as it does there.
 *
 * A TypeScript module rather than a YAML file so that `tsc` puts it in `dist/` with the rest.
 */

/** The API group of `Cluster` and `MachineDeployment`. */
export const CLUSTER_GROUP = "cluster.x-k8s.io";
/** The API group of `KubeadmControlPlane`. */
export const CONTROL_PLANE_GROUP = "controlplane.x-k8s.io";
/** The one version the sandbox serves. */
export const CAPI_VERSION = "v1beta1";
/** Label Cluster API puts on every object that belongs to a cluster, naming the `Cluster`. */
export const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";
/** Label on the Machines (and selector) of one MachineDeployment. */
export const DEPLOYMENT_NAME_LABEL = "cluster.x-k8s.io/deployment-name";
/** Label on control-plane Machines. */
export const CONTROL_PLANE_MACHINE_LABEL = "cluster.x-k8s.io/control-plane";

/** A JSON schema node of a CRD (`openAPIV3Schema`), as far as these CRDs use it. */
export interface SchemaProps {
  type?: "object" | "array" | "string" | "integer" | "boolean";
  format?: string;
  description?: string;
  properties?: Record<string, SchemaProps>;
  items?: SchemaProps;
  required?: string[];
  minimum?: number;
  enum?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** A CustomResourceDefinition (`apiextensions.k8s.io/v1`) as these CRDs use it. */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories: string[] };
    scope: "Namespaced";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never>; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string } };
      additionalPrinterColumns: { name: string; type: string; jsonPath: string; description?: string }[];
      schema: { openAPIV3Schema: SchemaProps };
    }[];
  };
}

const text = (description: string): SchemaProps => ({ type: "string", description });
const count = (description: string): SchemaProps => ({ type: "integer", format: "int32", minimum: 0, description });
const flag = (description: string): SchemaProps => ({ type: "boolean", description });

/** An object reference (apiVersion, kind, namespace, name; uid and the rest kept as they come). */
const reference = (description: string): SchemaProps => ({
  type: "object",
  description,
  "x-kubernetes-preserve-unknown-fields": true,
  properties: {
    apiVersion: text("API version of the referenced object."),
    kind: text("Kind of the referenced object."),
    namespace: text("Namespace of the referenced object."),
    name: text("Name of the referenced object."),
  },
});

/** Conditions as Cluster API reports them; bosun does not interpret them yet. */
const conditions: SchemaProps = {
  type: "array",
  description: "Observations of the object's state.",
  items: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
};

const observedGeneration: SchemaProps = {
  type: "integer",
  format: "int64",
  description: "The metadata.generation the status describes; older than the generation while the change is in progress.",
};

/** The root of an object schema: apiVersion, kind, metadata, spec and status. */
function root(description: string, spec: SchemaProps, status: SchemaProps): SchemaProps {
  return {
    type: "object",
    description,
    properties: {
      apiVersion: text("Versioned schema of this representation of an object."),
      kind: text("REST resource this object represents."),
      metadata: { type: "object" },
      spec: { ...spec, type: "object", "x-kubernetes-preserve-unknown-fields": true },
      status: { ...status, type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
  };
}

const age = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

function crd(
  group: string,
  names: CustomResourceDefinition["spec"]["names"],
  provider: string,
  schema: SchemaProps,
  columns: CustomResourceDefinition["spec"]["versions"][number]["additionalPrinterColumns"],
  scalable: boolean,
): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${names.plural}.${group}`,
      // Which provider serves the kind, and (`cluster.x-k8s.io/<contract>: <versions>`) which of its API
      // versions implement the v1beta1 contract: what Cluster API reads on a provider's CRDs.
      labels: { "cluster.x-k8s.io/provider": provider, [`${CLUSTER_GROUP}/${CAPI_VERSION}`]: CAPI_VERSION },
    },
    spec: {
      group,
      names,
      scope: "Namespaced",
      versions: [
        {
          name: CAPI_VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            ...(scalable ? { scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" } } : {}),
          },
          additionalPrinterColumns: [...columns, age],
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

/** `clusters.cluster.x-k8s.io`: a workload cluster, pointing at the object that runs its control plane. */
export const CLUSTER_CRD = crd(
  CLUSTER_GROUP,
  { kind: "Cluster", listKind: "ClusterList", plural: "clusters", singular: "cluster", shortNames: ["cl"], categories: ["cluster-api"] },
  "cluster-api",
  root(
    "A Kubernetes cluster managed through Cluster API.",
    {
      properties: {
        paused: flag("Stops every controller from reconciling the cluster's objects."),
        controlPlaneEndpoint: {
          type: "object",
          description: "Where the workload cluster's API server is reached.",
          properties: { host: text("Host name or address."), port: { type: "integer", format: "int32", description: "Port." } },
        },
        controlPlaneRef: reference("The object that runs the control plane (a KubeadmControlPlane)."),
        infrastructureRef: reference("The provider object that runs the cluster's infrastructure."),
      },
    },
    {
      properties: {
        phase: text("Provisioning state: Pending, Provisioning, Provisioned, Deleting, Failed or Unknown."),
        controlPlaneReady: flag("Whether the control plane answers."),
        infrastructureReady: flag("Whether the infrastructure is ready."),
        observedGeneration,
        conditions,
      },
    },
  ),
  [{ name: "Phase", type: "string", jsonPath: ".status.phase", description: "Provisioning state" }],
  false,
);

/** `kubeadmcontrolplanes.controlplane.x-k8s.io`: the control-plane machines of a cluster and their version. */
export const KUBEADM_CONTROL_PLANE_CRD = crd(
  CONTROL_PLANE_GROUP,
  { kind: "KubeadmControlPlane", listKind: "KubeadmControlPlaneList", plural: "kubeadmcontrolplanes", singular: "kubeadmcontrolplane", shortNames: ["kcp"], categories: ["cluster-api"] },
  "control-plane-kubeadm",
  root(
    "Control-plane machines bootstrapped with kubeadm.",
    {
      required: ["version"],
      properties: {
        replicas: count("Desired number of control-plane machines; odd for a stacked etcd quorum."),
        version: text("Kubernetes version of the control plane, vMAJOR.MINOR.PATCH."),
      },
    },
    {
      properties: {
        version: text("The oldest Kubernetes version among the control-plane machines."),
        replicas: count("Control-plane machines that exist."),
        readyReplicas: count("Control-plane machines that are ready."),
        updatedReplicas: count("Control-plane machines that match the desired spec."),
        unavailableReplicas: count("Control-plane machines that are not ready."),
        ready: flag("Whether the API server answers."),
        initialized: flag("Whether the first control-plane machine has been initialised."),
        selector: text("Label selector of the control-plane machines (for the scale subresource)."),
        observedGeneration,
        conditions,
      },
    },
  ),
  [
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", description: "Desired control-plane machines" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas", description: "Ready control-plane machines" },
    { name: "Updated", type: "integer", jsonPath: ".status.updatedReplicas", description: "Control-plane machines at the desired spec" },
    { name: "Version", type: "string", jsonPath: ".spec.version", description: "Desired Kubernetes version" },
  ],
  true,
);

/** `machinedeployments.cluster.x-k8s.io`: a group of worker machines of one version. */
export const MACHINE_DEPLOYMENT_CRD = crd(
  CLUSTER_GROUP,
  { kind: "MachineDeployment", listKind: "MachineDeploymentList", plural: "machinedeployments", singular: "machinedeployment", shortNames: ["md"], categories: ["cluster-api"] },
  "cluster-api",
  root(
    "Worker machines of one cluster, rolled out like a Deployment's pods.",
    {
      required: ["clusterName", "template"],
      properties: {
        clusterName: text("Name of the Cluster the machines belong to."),
        replicas: count("Desired number of machines."),
        template: {
          type: "object",
          description: "What every machine is made from.",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: {
            spec: {
              type: "object",
              "x-kubernetes-preserve-unknown-fields": true,
              required: ["clusterName"],
              properties: {
                clusterName: text("Name of the Cluster the machine belongs to."),
                version: text("Kubernetes version of the machines' kubelets, vMAJOR.MINOR.PATCH."),
              },
            },
          },
        },
      },
    },
    {
      properties: {
        phase: text("ScalingUp, ScalingDown, Running, Failed or Unknown."),
        replicas: count("Machines that exist."),
        readyReplicas: count("Machines whose node is ready."),
        availableReplicas: count("Machines that have been ready long enough."),
        updatedReplicas: count("Machines that match the desired template."),
        unavailableReplicas: count("Machines that are not available."),
        selector: text("Label selector of the machines (for the scale subresource)."),
        observedGeneration,
        conditions,
      },
    },
  ),
  [
    { name: "Cluster", type: "string", jsonPath: ".spec.clusterName", description: "Cluster the machines belong to" },
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", description: "Desired machines" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas", description: "Ready machines" },
    { name: "Updated", type: "integer", jsonPath: ".status.updatedReplicas", description: "Machines at the desired template" },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Rollout phase" },
    { name: "Version", type: "string", jsonPath: ".spec.template.spec.version", description: "Desired Kubernetes version" },
  ],
  true,
);

/** Every CRD a sandbox management cluster gets, in install order. */
export const CLUSTER_API_CRDS: readonly CustomResourceDefinition[] = [CLUSTER_CRD, KUBEADM_CONTROL_PLANE_CRD, MACHINE_DEPLOYMENT_CRD];
