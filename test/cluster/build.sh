#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries ca-rotator tests against, through the
# Go module proxy, into a cache outside the repository keyed by version:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubeadm (k8s.io/kubernetes
#   with its staging modules replaced by their published versions), etcd (a wrapper module
#   around go.etcd.io/etcd/server/v3/etcdmain), etcdctl (go.etcd.io/etcd/etcdctl/v3, for the
#   etcd snapshot of a plan's etcd-snapshot step) and kwok;
#   and the programs of ./programs (the Go module the pods' processes run, see
#   pod_processes.ts), rebuilt whenever their source changes.
# Prints the bin directory on its last line. A second run with the same versions is instant.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

cache_root="${CA_ROTATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ca-rotator}"
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
bin="$cache_root/$key/bin"
work="$cache_root/$key/src"
mkdir -p "$bin" "$work"

# One build at a time per cache (test files run in parallel, and several checkouts share it):
# the others wait here and then find the binaries built.
exec 9>"$cache_root/$key/.build.lock"
if ! flock -n 9; then
  printf '[build] waiting for another build of %s\n' "$key" >&2
  flock 9
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath"

log() { printf '[build] %s\n' "$*" >&2; }
have() { [ -x "$bin/$1" ]; }

# Runs a command, logging "… still <what> (Ns)" every 30 s so that a CI log shows progress.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
with_progress() {
  local what="$1" started=$SECONDS rc=0 ticker
  shift
  # sleep inherits no output: once the ticker is killed it must not hold the caller's pipe open.
  (while sleep 30 </dev/null >/dev/null 2>&1; do log "… still $what ($((SECONDS - started))s)"; done) &
  ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}

k8s_components=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubeadm)

build_kubernetes() {
  local missing=()
  for c in "${k8s_components[@]}"; do have "$c" || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0

  local mod="$work/kubernetes"
  mkdir -p "$mod"
  log "kubernetes $K8S_VERSION: resolving modules (${missing[*]})"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging_version="v0.${K8S_VERSION#v1.}"
  if [ ! -f "$mod/go.mod" ] || ! grep -q "k8s.io/kubernetes $K8S_VERSION" "$mod/go.mod"; then
    local upstream_mod
    upstream_mod=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    {
      echo "module ca-rotator.local/kubernetes-build"
      echo
      echo "go $(sed -n 's/^go //p' "$upstream_mod")"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      # Every staging module the upstream go.mod points at ./staging becomes its published version.
      sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging_version"'#p' "$upstream_mod"
    } >"$mod/go.mod"
    printf 'package main\n' >"$mod/doc.go"
  fi
  local pkgs=()
  for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c@$K8S_VERSION"); done
  (cd "$mod" && with_progress "resolving kubernetes modules" go get "${pkgs[@]}" >&2)
  local ldflags="-s -w"
  ldflags+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for c in "${missing[@]}"; do
    local started=$SECONDS
    log "kubernetes $K8S_VERSION: building $c (the first build on a machine takes many minutes)"
    (cd "$mod" && with_progress "building $c" go build -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$bin/$c.tmp" "$bin/$c"
    log "kubernetes $K8S_VERSION: $c built in $((SECONDS - started))s"
  done
}

build_etcd() {
  have etcd && return 0
  local mod="$work/etcd"
  mkdir -p "$mod"
  log "etcd $ETCD_VERSION: building"
  cat >"$mod/main.go" <<'GO'
// Command etcd runs the etcd server from the published etcd server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  if [ ! -f "$mod/go.mod" ]; then
    (cd "$mod" && go mod init ca-rotator.local/etcd-build >&2)
  fi
  (cd "$mod" && with_progress "resolving etcd modules" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 &&
    go mod tidy >&2 &&
    with_progress "building etcd" go build -ldflags "-s -w" -o "$bin/etcd.tmp" . && mv "$bin/etcd.tmp" "$bin/etcd")
}

build_etcdctl() {
  have etcdctl && return 0
  local started=$SECONDS
  log "etcdctl $ETCD_VERSION: building"
  # A wrapper module, as for etcd: etcdctl's own go.mod has replace directives (go install refuses it).
  local mod="$work/etcdctl"
  mkdir -p "$mod"
  cat >"$mod/main.go" <<'GO'
// Command etcdctl runs etcdctl from the published etcdctl module.
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() { ctlv3.MustStart() }
GO
  if [ ! -f "$mod/go.mod" ]; then
    (cd "$mod" && go mod init ca-rotator.local/etcdctl-build >&2)
  fi
  (cd "$mod" && with_progress "resolving etcdctl modules" go get "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" >&2 &&
    go mod tidy >&2 &&
    with_progress "building etcdctl" go build -ldflags "-s -w" -o "$bin/etcdctl.tmp" . && mv "$bin/etcdctl.tmp" "$bin/etcdctl")
  log "etcdctl $ETCD_VERSION: built in $((SECONDS - started))s"
}

# The test programs (programs/cmd/<name>, a module of this repository that requires client-go
# and k8s.io/sample-apiserver at v0.37.2, the staging version of Kubernetes v1.37.2, through the
# Go module proxy): each binary is rebuilt when the hash of the module's source (go.mod, go.sum,
# every non-test .go file), of the Go version or of GOFLAGS differs from the one recorded beside
# it in .<name>.source. go.mod pins the versions, so a change of version is a change of source.
#   incluster-client  client-go in-cluster client (lists and watches ConfigMaps)
#   sample-apiserver  k8s.io/sample-apiserver's main, with the in-cluster config wired to the
#                     pod's ServiceAccount volume (the aggregated API server of aggregated_api.ts)
#   kubelet-client    the kubelets of the test nodes: k8s.io/kubernetes $K8S_VERSION's kubelet
#                     client-certificate manager and rotating transport (supervisor_kubelets.ts);
#                     go.mod requires k8s.io/kubernetes at K8S_VERSION with its staging modules
#                     replaced by their published versions, as build_kubernetes does
programs_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/programs"
test_programs=(incluster-client sample-apiserver kubelet-client)

# Every k8s.io staging module programs/go.mod requires, or replaces with a published version, must
# be the staging version of K8S_VERSION (v1.37.2 → v0.37.2), and k8s.io/kubernetes K8S_VERSION
# itself: the programs speak to, and sample-apiserver and kubelet-client are, that release.
check_program_versions() {
  local staging_version="v0.${K8S_VERSION#v1.}" wrong
  wrong=$({
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) \(v[0-9][0-9.]*\)\( //.*\)\?$#\1 \2#p' "$programs_dir/go.mod"
    sed -n 's#^\s*\(replace \)\?k8s\.io/[a-z0-9-]* => \(k8s\.io/[a-z0-9-]*\) \(v[0-9][0-9.]*\)$#\2 \3#p' "$programs_dir/go.mod"
  } | grep -Ev "^k8s\.io/(klog|utils|kube-openapi) " | grep -v "^k8s\.io/kubernetes $K8S_VERSION\$" |
    grep -Ev "^k8s\.io/[a-z0-9-]+ $staging_version\$" || true)
  if [ -n "$wrong" ]; then
    log "programs/go.mod: these modules are not at $staging_version (the staging version of $K8S_VERSION):"
    while read -r line; do log "  $line"; done <<<"$wrong"
    return 1
  fi
}

build_test_programs() {
  check_program_versions
  local source
  source=$({
    go version
    echo "$GOFLAGS"
    cd "$programs_dir" &&
      find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) ! -name '*_test.go' -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16)
  for p in "${test_programs[@]}"; do
    if have "$p" && [ "$(cat "$bin/.$p.source" 2>/dev/null)" = "$source" ]; then continue; fi
    local started=$SECONDS
    log "test program $p: building (source $source)"
    (cd "$programs_dir" && with_progress "building $p" go build -ldflags "-s -w" -o "$bin/$p.tmp" "./cmd/$p")
    mv "$bin/$p.tmp" "$bin/$p"
    echo "$source" >"$bin/.$p.source"
    log "test program $p: built in $((SECONDS - started))s"
  done
}

# join-discovery (./join_discovery, a module of its own, so that changing it does not rebuild
# the test programs above): `kubeadm join`'s discovery (k8s.io/kubernetes K8S_VERSION,
# cmd/kubeadm/app/discovery) as a command that prints what it validated, for
# test/rotation/join_discovery_test.ts. Rebuilt when the hash of its source differs, as above.
join_discovery_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/join_discovery"

build_join_discovery() {
  grep -q "k8s.io/kubernetes $K8S_VERSION" "$join_discovery_dir/go.mod" || {
    log "join_discovery/go.mod does not require k8s.io/kubernetes $K8S_VERSION"
    return 1
  }
  local source started=$SECONDS
  source=$({
    go version
    echo "$GOFLAGS"
    cd "$join_discovery_dir" && sha256sum go.mod go.sum main.go
  } | sha256sum | cut -c1-16)
  if have join-discovery && [ "$(cat "$bin/.join-discovery.source" 2>/dev/null)" = "$source" ]; then
    return 0
  fi
  log "join-discovery: building (source $source)"
  (cd "$join_discovery_dir" && with_progress "building join-discovery" go build -ldflags "-s -w" -o "$bin/join-discovery.tmp" .)
  mv "$bin/join-discovery.tmp" "$bin/join-discovery"
  echo "$source" >"$bin/.join-discovery.source"
  log "join-discovery: built in $((SECONDS - started))s"
}

build_kwok() {
  have kwok && return 0
  log "kwok $KWOK_VERSION: building"
  GOBIN="$bin" with_progress "building kwok" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
}

started=$SECONDS
build_etcd
build_etcdctl
build_kwok
build_kubernetes
build_test_programs
build_join_discovery
log "binaries ready in $bin ($((SECONDS - started))s)"
echo "$bin"
