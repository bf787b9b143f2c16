# Builds kubelet, kubeadm, kubectl and the control-plane binaries of $KUBERNETES_VERSION into $BIN_DIR.
# shellcheck shell=bash

kubernetes_commands=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

# k8s.io/kubernetes requires its staging modules at v0.0.0; every one of them must be replaced.
kubernetes_staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
  csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
  pod-security-admission sample-apiserver)

build_kubernetes() {
  local dir=$MODULES_DIR/kubernetes v=$KUBERNETES_VERSION staging=v0.${KUBERNETES_VERSION#v1.}
  go_wrapper_module "$dir" netcert.local/build/kubernetes
  local m
  for m in "${kubernetes_staging[@]}"; do
    printf 'replace k8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$staging" >>"$dir/go.mod"
  done
  local minor=${v#v1.}; minor=${minor%%.*}
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local cmd
  for cmd in "${kubernetes_commands[@]}"; do
    # The version must be spelled out: a bare `go get` upgrades to a newer, unbuildable release.
    go_get "$dir" "k8s.io/kubernetes/cmd/$cmd@$v" || return
  done
  for cmd in "${kubernetes_commands[@]}"; do
    log "  compiling $cmd"
    go_static_build "$dir" "$BIN_DIR/$cmd" "k8s.io/kubernetes/cmd/$cmd" \
      -tags selinux,notest,grpcnotrace -ldflags "$ldflags" || return
  done
}
