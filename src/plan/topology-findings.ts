/**
 * The HA topology diffed, not only counted (issue 15): the spec's control-plane zones, etcd mode and
 * endpoint against what the cluster shows. The control-plane count is a step (`topology-steps.ts`); every
 * other difference is a finding with the runbook an operator follows, because none of them is a change
 * bosun should make unattended (moving a control-plane node between zones, migrating etcd, re-signing the
 * API server's certificate for a new endpoint). Pure.
 */
import type { DesiredCluster } from "../spec/types.js";
import type { ObservedClusterAPI, ObservedKubeadm } from "./observed.js";
import type { Finding } from "./types.js";

/** Every difference between the spec's topology and the observed one, in a fixed order. */
export function topologyFindings(desired: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): Finding[] {
  return [...zoneFindings(desired, driver), ...(driver.kind === "kubeadm" ? [...etcdFindings(desired, driver), ...endpointFindings(desired, driver)] : [])];
}

function zoneFindings(desired: DesiredCluster, driver: ObservedKubeadm | ObservedClusterAPI): Finding[] {
  const zones = desired.topology.controlPlane.zones;
  if (zones.length === 0) return [];
  const controlPlane = driver.nodes.filter((node) => node.role === "control-plane");
  const findings: Finding[] = [];
  const outside = controlPlane.filter((node) => node.zone === null || !zones.includes(node.zone));
  if (outside.length > 0) {
    findings.push({
      kind: "topology.zone-unknown",
      message: `control-plane node${plural(outside)} ${outside.map((node) => `${node.name} (${node.zone === null ? "no topology.kubernetes.io/zone label" : `zone ${node.zone}`})`).join(", ")} ${outside.length === 1 ? "is" : "are"} not in a zone the spec names (${zones.join(", ")})`,
      runbook: [
        `Check the node's \`topology.kubernetes.io/zone\` label against where it really runs: \`kubectl get node <node> -L topology.kubernetes.io/zone\`.`,
        `If the label is wrong, fix it at its source (the cloud provider or the kubelet's \`--node-labels\`), not by hand: a hand-set label is lost when the node re-registers.`,
        `If the node really runs elsewhere, either add its zone to \`topology.controlPlane.zones\` or replace it with a node in a named zone, one node at a time (join the new one, wait for its etcd member to be healthy, then remove the old one).`,
      ],
    });
  }
  // Spread is only required when the spec names enough zones for one node each.
  if (zones.length < controlPlane.length) return findings;
  const byZone = new Map<string, string[]>();
  for (const node of controlPlane) {
    if (node.zone === null) continue;
    byZone.set(node.zone, [...(byZone.get(node.zone) ?? []), node.name]);
  }
  const crowded = [...byZone].filter(([, names]) => names.length > 1).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const empty = zones.filter((zone) => !byZone.has(zone));
  for (const [zone, names] of crowded) {
    findings.push({
      kind: "topology.zone-spread",
      message: `control-plane nodes ${names.join(", ")} are all in zone ${zone}: losing that zone loses ${names.length} of ${controlPlane.length} etcd members${names.length * 2 >= controlPlane.length ? ", and with them quorum" : ""}; the spec names ${zones.length} zones for ${controlPlane.length} nodes`,
      runbook: [
        `Join a new control-plane node in ${empty.length > 0 ? `zone ${empty.join(" or ")}` : "a zone without one"} (\`kubeadm token create --print-join-command\`, then the join with \`--control-plane --certificate-key <key>\` after \`kubeadm init phase upload-certs --upload-certs\`).`,
        `Wait until it is Ready and its etcd member is healthy (\`etcdctl endpoint health --cluster\`).`,
        `Remove one of ${names.join(", ")}: \`kubectl drain <node> --ignore-daemonsets\`, \`kubeadm reset\` on it (removes its etcd member), \`kubectl delete node <node>\`.`,
        `Run \`bosun plan\` again: the finding disappears when no two control-plane nodes share a zone.`,
      ],
    });
  }
  return findings;
}

function etcdFindings(desired: DesiredCluster, driver: ObservedKubeadm): Finding[] {
  const want = desired.topology.etcd;
  const have = driver.etcd;
  if (want.mode !== have.mode) {
    return [
      {
        kind: "topology.etcd-mode",
        message: `the spec says etcd is ${want.mode}, but kubeadm-config says ${have.mode}${have.mode === "external" ? ` (${have.endpoints.join(", ")})` : ""}: bosun never migrates etcd`,
        runbook:
          want.mode === "external"
            ? [
                `Moving from stacked to external etcd is a migration, not an upgrade: take a snapshot first (\`etcdctl snapshot save\`) and check it (\`etcdutl snapshot status\`).`,
                `Build the external etcd cluster (${want.endpoints.join(", ")}), restore the snapshot into it, and point every kube-apiserver's \`--etcd-servers\` at it one control-plane node at a time.`,
                `Update \`etcd.external\` in the \`kube-system/kubeadm-config\` ConfigMap so later \`kubeadm upgrade\` runs keep it, then remove the stacked etcd static pods.`,
                `If the cluster is meant to stay stacked, change \`topology.etcd.mode\` in the spec instead.`,
              ]
            : [
                `The cluster uses external etcd; if that is intended, set \`topology.etcd: { mode: external, endpoints: [...] }\` in the spec.`,
                `Moving to stacked etcd means restoring a snapshot into members on the control-plane nodes: plan it as a migration with a maintenance window, never as an upgrade.`,
              ],
      },
    ];
  }
  if (want.mode === "external" && have.mode === "external") {
    const wanted = [...want.endpoints].sort();
    const seen = [...have.endpoints].sort();
    if (wanted.join(" ") !== seen.join(" ")) {
      return [
        {
          kind: "topology.etcd-endpoints",
          message: `the spec's external etcd endpoints (${wanted.join(", ")}) differ from kubeadm-config's (${seen.join(", ")})`,
          runbook: [
            `Check which list is right: \`etcdctl --endpoints <list> member list\`.`,
            `If the cluster's list is stale, update \`etcd.external.endpoints\` in \`kube-system/kubeadm-config\` and each kube-apiserver's \`--etcd-servers\`, one control-plane node at a time; otherwise fix the spec.`,
          ],
        },
      ];
    }
  }
  return [];
}

function endpointFindings(desired: DesiredCluster, driver: ObservedKubeadm): Finding[] {
  const want = desired.topology.endpoint;
  const have = driver.controlPlaneEndpoint;
  if (want === null || want === have) return [];
  return [
    {
      kind: "topology.endpoint",
      message: `the spec's endpoint ${want} differs from kubeadm's controlPlaneEndpoint ${have ?? "(not set)"}: nodes and kubeconfigs reach the API server through the latter`,
      runbook: [
        `Make ${want} reach every control-plane node (the load balancer or DNS name) while ${have ?? "the current address"} still works.`,
        `Add it to the API server certificate: set \`apiServer.certSANs\` and \`controlPlaneEndpoint: ${want}\` in \`kube-system/kubeadm-config\`, then on each control-plane node, one at a time, move the old apiserver certificate aside and run \`kubeadm init phase certs apiserver\`, then restart the kube-apiserver static pod.`,
        `Point every kubelet and kubeconfig (\`/etc/kubernetes/*.conf\`, \`cluster-info\` in kube-public) at ${want}, node by node.`,
        `If ${have ?? "the current endpoint"} is the one meant, change \`topology.endpoint\` in the spec instead.`,
      ],
    },
  ];
}

function plural(items: readonly unknown[]): string {
  return items.length === 1 ? "" : "s";
}
