#!/usr/bin/env bash
# Builds etcd from go.etcd.io/etcd/server/v3 through a one-file wrapper module.
# `go install` of the server module is refused because its go.mod has relative replace lines.
# Usage: build-etcd.sh WORKDIR OUTDIR VERSION
set -euo pipefail
work="$1" out="$2" version="$3"
mkdir -p "$work"
cd "$work"
cat >main.go <<'GO'
// Command etcd runs the etcd server; it only calls etcdmain.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
go mod init rikugame.invalid/etcd
go get "go.etcd.io/etcd/server/v3@v$version"
go build -trimpath -ldflags "-s -w" -o "$out/etcd" .
"$out/etcd" --version
