//go:build tools

// Helm's CLI, at the version the Kubernetes provider embeds (its go.mod in
// ../pulumi-kubernetes), to push the charts as a user would; this file
// keeps the module in go.mod.
package main

import _ "helm.sh/helm/v3/cmd/helm"
