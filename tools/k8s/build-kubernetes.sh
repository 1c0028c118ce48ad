#!/usr/bin/env bash
# Builds commands of the k8s.io/kubernetes module: by default kube-apiserver, kube-controller-manager and
# kube-scheduler; other cmd/ names (kubectl) when given.
# k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them with local replaces, which
# the go command ignores in a dependency; so a scratch module supplies one replace per staging module,
# generated from k8s.io/kubernetes's own go.mod, each pointing at the published v0.<minor>.<patch> tag.
# Usage: build-kubernetes.sh WORKDIR OUTDIR VERSION [COMMAND...]   (VERSION like 1.36.3)
set -euo pipefail
work="$1" out="$2" version="$3"
shift 3
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(kube-apiserver kube-controller-manager kube-scheduler)
minor="$(echo "$version" | cut -d. -f2)"
staging_version="v0.${version#1.}"
mkdir -p "$work"
cd "$work"
go mod init rikugame.invalid/kubernetes

gomod="$(go mod download -json "k8s.io/kubernetes@v$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
mapfile -t staging < <(sed -nE 's#^[[:space:]]*(k8s\.io/[A-Za-z0-9._-]+)[[:space:]]+=>[[:space:]]+\./staging/src/\1[[:space:]]*$#\1#p' "$gomod")
[ "${#staging[@]}" -gt 0 ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
echo "staging modules (${#staging[@]}): ${staging[*]}"
edits=()
for m in "${staging[@]}"; do edits+=("-replace=$m=$m@$staging_version"); done
go mod edit "${edits[@]}"

cmds=("${names[@]/#/k8s.io/kubernetes/cmd/}")
go get "${cmds[@]/%/@v$version}"

build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
go build -trimpath -ldflags "$ldflags" -o "$out/" "${cmds[@]}"
ls -l "${names[@]/#/$out/}"

