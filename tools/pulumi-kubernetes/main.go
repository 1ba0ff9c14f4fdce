// The Pulumi Kubernetes provider, built from its Go module for machines that
// cannot download plugins. Upstream's own main embeds files its Makefile
// generates; scripts/setup-tools.sh writes compact copies of the module's
// schema.json and terraform-mapping.json beside this file before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
