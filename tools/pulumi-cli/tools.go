//go:build tools

// Package tools pins the Pulumi CLI that plume-fleet's lab and real-engine tests run on.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
