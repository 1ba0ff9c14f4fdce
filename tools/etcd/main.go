// etcd for the local cluster, from the Go module proxy: the same entry point
// as upstream's own main. Debian's etcd 3.4 lacks the watch progress requests
// that kube-apiserver 1.34 and kwok's client rely on (watches then fall back
// to slow relists).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
