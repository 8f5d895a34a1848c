import { describe, expect, it } from "vitest";
import { CATALOG, etcdWrapperGoMod, kubernetesLdflags, kubernetesWrapperGoMod, toolsGo } from "../../../src/sandbox/binaries/catalog.js";

// The shape of k8s.io/kubernetes's go.mod as the module proxy serves it (abridged).
const KUBERNETES_GO_MOD = `module k8s.io/kubernetes

go 1.26.0

require (
\tk8s.io/api v0.0.0
\tk8s.io/apimachinery v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/apimachinery => ./staging/src/k8s.io/apimachinery
\tk8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming
\tgithub.com/example/other => github.com/example/other v1.2.3
)
`;

describe("binary catalogue", () => {
  it("replaces every staging module of Kubernetes with its published v0.MINOR.PATCH, and nothing else", () => {
    const goMod = kubernetesWrapperGoMod("1.36.3", KUBERNETES_GO_MOD);
    expect(goMod).toContain("require k8s.io/kubernetes v1.36.3");
    expect(goMod).toContain("go 1.26.0");
    expect(goMod).toContain("\tk8s.io/api => k8s.io/api v0.36.3\n");
    expect(goMod).toContain("\tk8s.io/apimachinery => k8s.io/apimachinery v0.36.3\n");
    expect(goMod).toContain("\tk8s.io/cri-streaming => k8s.io/cri-streaming v0.36.3\n");
    expect(goMod).not.toContain("github.com/example/other");
  });

  it("sets the version ldflags on both version packages so /version reports the real release", () => {
    const flags = kubernetesLdflags("1.36.3", "2026-01-01T00:00:00Z").join(" ");
    for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
      expect(flags).toContain(`-X ${pkg}.gitVersion=v1.36.3`);
      expect(flags).toContain(`-X ${pkg}.gitMajor=1`);
      expect(flags).toContain(`-X ${pkg}.gitMinor=36`);
    }
  });

  it("builds etcd, etcdctl and etcdutl from one wrapper module at one version", () => {
    const goMod = etcdWrapperGoMod("3.6.16");
    expect(goMod.match(/ v3\.6\.16$/gm)).toHaveLength(3);
    expect(toolsGo(["go.etcd.io/etcd/server/v3"])).toMatch(/^\/\/go:build tools$/m);
  });

  it.each([
    ["kube-apiserver", "Kubernetes v1.36.3", true],
    ["kube-apiserver", "Kubernetes v1.35.4", false],
    ["kube-apiserver", "Kubernetes v1.33.2", false],
    ["etcd", "etcd Version: 3.4.23\nGit SHA: x", false],
    ["etcd", "etcd Version: 3.6.16\nGit SHA: x", true],
    ["helm", "v3.21.4+gabc", true],
    ["helm", "v4.3.1+gdef", true],
    ["helm", "v2.17.0+g1", false],
    ["kustomize", "v5.8.2", true],
    ["kustomize", "{Version:kustomize/v4.5.7}", false],
    ["registry", "registry github.com/distribution/distribution/v3 v3.1.2+unknown", true],
    ["registry", "registry github.com/docker/distribution v2.8.3", false],
  ] as const)("%s on PATH printing %j is accepted: %s", (name, output, accepted) => {
    expect(CATALOG[name].probe.accepts(output)).toBe(accepted);
  });
});
