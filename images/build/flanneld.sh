# Builds flanneld $FLANNEL_VERSION (static, CGO on for the UDP backend) into $BIN_DIR.
# shellcheck shell=bash

# flannel requires tencentcloud-sdk-go's common@v1.3.190 and vpc@v1.3.188 (for its tencent-vpc
# backend, compiled in unconditionally); the module proxy refuses those two zips. The wrapper
# module pins versions it does serve. The SDK's API is additive and flannel uses only a few old
# calls (DescribeRouteTables, CreateRoutes, DeleteRoutes), so only that backend is affected.
flannel_tencent_sdk=github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud
flannel_tencent_common=v1.3.206 # first served version after the required v1.3.190
flannel_tencent_vpc=v1.3.128    # served (flannel v0.28.7 used it); v1.3.149 and v1.3.188 are not

build_flanneld() {
  local dir=$MODULES_DIR/flanneld sdk=$flannel_tencent_sdk
  go_wrapper_module "$dir" netcert.local/build/flanneld || return
  # One replace line per SDK module (printf repeats its format).
  printf 'replace %s/%s => %s/%s %s\n' \
    "$sdk" common "$sdk" common "$flannel_tencent_common" \
    "$sdk" vpc "$sdk" vpc "$flannel_tencent_vpc" >>"$dir/go.mod"
  # flanneld is the module's root package (package main); the version must be spelled out.
  go_get "$dir" "github.com/flannel-io/flannel@$FLANNEL_VERSION" || return
  # As flannel's Makefile: CGO on, -extldflags -static, the version in pkg/version.Version.
  # netgo,osusergo keep glibc's NSS (dlopen) out of the static binary (upstream links musl).
  log "  compiling flanneld"
  (cd "$dir" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags netgo,osusergo \
    -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION -extldflags=-static" \
    -o "$BIN_DIR/flanneld" github.com/flannel-io/flannel)
}
