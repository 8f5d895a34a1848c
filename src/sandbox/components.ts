/**
 * Command lines of the sandbox's components. Each function returns an argument array for one program,
 * binding everything to 127.0.0.1 and to ports chosen by `up`; nothing here starts a process.
 */
import type { ClusterLayout, SandboxLayout } from "./layout.js";

/** Ports assigned to one cluster's components. */
export interface ClusterPorts {
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

/** etcd with one member, plain HTTP on loopback, shared by every cluster of the sandbox. */
export function etcdArgs(layout: SandboxLayout, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    `--name=sandbox`,
    `--data-dir=${layout.etcdData}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=sandbox=${peer}`,
    `--initial-cluster-state=new`,
    // The sandbox favours start-up speed and a small footprint over durability.
    `--unsafe-no-fsync=true`,
    `--quota-backend-bytes=4294967296`,
    `--log-level=warn`,
  ];
}

/** A kube-apiserver whose objects live under its own etcd prefix. */
export function apiserverArgs(
  layout: SandboxLayout,
  cluster: ClusterLayout,
  etcdUrl: string,
  etcdPrefix: string,
  port: number,
  runtimeConfig: readonly string[] = [],
): string[] {
  return [
    // Only entries the seed file's checks accepted (group/version=true|false).
    ...(runtimeConfig.length > 0 ? [`--runtime-config=${runtimeConfig.join(",")}`] : []),
    `--etcd-servers=${etcdUrl}`,
    `--etcd-prefix=${etcdPrefix}`,
    `--bind-address=127.0.0.1`,
    `--advertise-address=127.0.0.1`,
    `--secure-port=${port}`,
    `--tls-cert-file=${cluster.servingCert}`,
    `--tls-private-key-file=${cluster.servingKey}`,
    `--client-ca-file=${layout.caCert}`,
    `--token-auth-file=${cluster.tokens}`,
    `--authorization-mode=RBAC`,
    `--service-cluster-ip-range=10.96.0.0/16`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${cluster.serviceAccountPub}`,
    `--service-account-signing-key-file=${cluster.serviceAccountKey}`,
    // With the default reconciler, a machine without a default route refuses to start and a loopback
    // advertise address is rejected.
    `--endpoint-reconciler-type=none`,
    `--allow-privileged=true`,
    `--profiling=false`,
    `--enable-priority-and-fairness=false`,
    `--audit-policy-file=${layout.auditPolicy}`,
    `--audit-log-path=${cluster.auditLog}`,
    `--audit-log-format=json`,
    // One event per request once it completed: enough to say who wrote what and when.
    `--audit-log-mode=blocking`,
    `--audit-log-maxsize=200`,
    `--v=0`,
  ];
}

/**
 * Audit policy of the sandbox's API servers: every write (and only writes) at Metadata level, once the
 * response is complete. Reads would dominate the log and prove nothing about mutations.
 */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

/** kube-controller-manager: Deployments get ReplicaSets and Pods, Jobs complete, namespaces finalize. */
export function controllerManagerArgs(layout: SandboxLayout, cluster: ClusterLayout, port: number): string[] {
  return [
    ...controllerCommonArgs(cluster, port, cluster.kcmCertDir),
    `--use-service-account-credentials=false`,
    `--service-account-private-key-file=${cluster.serviceAccountKey}`,
    `--root-ca-file=${layout.caCert}`,
    `--cluster-name=${cluster.dir.split("/").pop() ?? "sandbox"}`,
  ];
}

/** kube-scheduler: binds Pods to the simulated nodes. */
export function schedulerArgs(cluster: ClusterLayout, port: number): string[] {
  return controllerCommonArgs(cluster, port, cluster.schedulerCertDir);
}

/** What kube-controller-manager and kube-scheduler share: the admin kubeconfig, loopback serving, one instance. */
function controllerCommonArgs(cluster: ClusterLayout, port: number, certDir: string): string[] {
  return [
    `--kubeconfig=${cluster.kubeconfig}`,
    `--authentication-kubeconfig=${cluster.kubeconfig}`,
    `--authorization-kubeconfig=${cluster.kubeconfig}`,
    `--bind-address=127.0.0.1`,
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    `--leader-elect=false`,
    `--profiling=false`,
    `--v=0`,
  ];
}

/** kwok: keeps every Node Ready and moves Pods through their phases, by the stages in `kwok-stages.yaml`. */
export function kwokArgs(layout: SandboxLayout, cluster: ClusterLayout, port: number): string[] {
  return [
    `--kubeconfig=${cluster.kubeconfig}`,
    `--config=${layout.kwokStages}`,
    `--manage-all-nodes=true`,
    `--server-address=127.0.0.1:${port}`,
    `--node-ip=127.0.0.1`,
    `--cidr=10.244.0.1/16`,
    `--node-lease-duration-seconds=40`,
  ];
}
