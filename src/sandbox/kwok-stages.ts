/**
 * The lifecycle kwok simulates in a full-mode sandbox, as kwok `Stage` objects: nodes become Ready and keep
 * their heartbeat; pods become Running and Ready; pods owned by a Job complete; deleted pods go away.
 *
 * Pods labelled `bosun.dev/node-upgrade` or `bosun.dev/snapshot` are left alone: the sandbox node agent
 * plays the kubelet for them, so it can make an upgrade or a pre-upgrade snapshot succeed or fail per node.
 */
import { NODE_UPGRADE_LABEL, SNAPSHOT_LABEL } from "../constants.js";

const NOT_DELETED = `    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'`;
const NOT_UPGRADE = `    - key: '.metadata.labels["${NODE_UPGRADE_LABEL}"]'
      operator: 'DoesNotExist'
    - key: '.metadata.labels["${SNAPSHOT_LABEL}"]'
      operator: 'DoesNotExist'`;

const NODE_CONDITIONS = `      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ Now | Quote }}
        lastTransitionTime: {{ or $.metadata.creationTimestamp Now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}`;

/** The kwok configuration file (several `Stage` documents). */
export const KWOK_STAGES = `# Written by bosun sandbox. Node and Pod lifecycle for simulated nodes.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: bosun-node-ready
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
${NODE_CONDITIONS}
      addresses:
      - { address: {{ NodeIP | Quote }}, type: InternalIP }
      - { address: {{ .metadata.name | Quote }}, type: Hostname }
      allocatable: { cpu: "32", memory: 128Gi, pods: "110" }
      capacity: { cpu: "32", memory: 128Gi, pods: "110" }
      {{ with .status.nodeInfo }}
      nodeInfo:
        architecture: {{ or .architecture "amd64" }}
        operatingSystem: {{ or .operatingSystem "linux" }}
        kubeletVersion: {{ or .kubeletVersion "v0.0.0" }}
        kubeProxyVersion: {{ or .kubeProxyVersion "v0.0.0" }}
        containerRuntimeVersion: {{ or .containerRuntimeVersion "containerd://1.7.0" }}
        kernelVersion: {{ or .kernelVersion "6.1.0" }}
        osImage: {{ or .osImage "Debian GNU/Linux 12 (bookworm)" }}
        bootID: {{ or .bootID "" | Quote }}
        machineID: {{ or .machineID "" | Quote }}
        systemUUID: {{ or .systemUUID "" | Quote }}
      {{ end }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: bosun-node-heartbeat
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
  delay:
    durationMilliseconds: 20000
    jitterDurationMilliseconds: 25000
  next:
    statusTemplate: |
${NODE_CONDITIONS}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: bosun-pod-running
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
${NOT_DELETED}
${NOT_UPGRADE}
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
  next:
    statusTemplate: |
      conditions:
      - { type: Initialized, status: "True", lastTransitionTime: {{ Now | Quote }} }
      - { type: PodScheduled, status: "True", lastTransitionTime: {{ Now | Quote }} }
      - { type: ContainersReady, status: "True", lastTransitionTime: {{ Now | Quote }} }
      - { type: Ready, status: "True", lastTransitionTime: {{ Now | Quote }} }
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state: { running: { startedAt: {{ Now | Quote }} } }
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        restartCount: 0
        state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ Now | Quote }}, finishedAt: {{ Now | Quote }} } }
      {{ end }}
      {{ with NodeIPWith .spec.nodeName }}
      hostIP: {{ . | Quote }}
      {{ end }}
      {{ with PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ . | Quote }}
      {{ end }}
      phase: Running
      startTime: {{ Now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: bosun-pod-job-complete
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
${NOT_DELETED}
${NOT_UPGRADE}
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values: ['Job']
  delay:
    durationMilliseconds: 1000
  next:
    statusTemplate: |
      conditions:
      - { type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ Now | Quote }} }
      - { type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ Now | Quote }} }
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ Now | Quote }}, finishedAt: {{ Now | Quote }} } }
      {{ end }}
      phase: Succeeded
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: bosun-pod-delete
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`;
