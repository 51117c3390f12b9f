// Package demo holds the demo brand's bot configuration.
package demo

import _ "embed"

// Northwind is the demo brand's bot, as YAML.
//
//go:embed northwind.yaml
var Northwind []byte
