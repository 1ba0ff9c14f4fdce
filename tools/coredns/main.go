// CoreDNS for the real node of the local cluster, linking only the plugins a
// cluster's DNS needs. The default build (coredns.go) links every plugin,
// cloud SDKs included, for a much larger build and binary.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func init() {
	// The order plugins handle a query in, as in upstream's zdirectives.go
	// (the Corefile's order does not matter); a Corefile naming any other
	// plugin fails to load.
	dnsserver.Directives = []string{
		"reload",
		"ready",
		"health",
		"errors",
		"log",
		"loadbalance",
		"cache",
		"kubernetes",
		"loop",
	}
}

func main() {
	coremain.Run()
}
