//go:build tools

// egctl is built from Envoy Gateway's own module at the pinned chart's
// version (infra/charts.ts); this file keeps the module in go.mod.
package tools

import _ "github.com/envoyproxy/gateway/cmd/egctl"
