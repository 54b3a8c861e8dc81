// Package config reads pbx.yaml: its schema (config.go), the defaults of
// every option (defaults.go), the decoding of the YAML tree (load.go,
// decode.go), the checks of what the values mean (validate.go) and the
// default configuration embedded in the binary (default.go, pbx.yaml).
//
// Every problem is reported as FILE:LINE: FIELD: PROBLEM, for example
//
//	pbx.yaml:12: trunks[0].host: required
//
// and all problems of a file are reported at once, in line order.
//
// config is on the lowest floor of the project: it must never import
// another package of the project. Packages above read a *Config; they do
// not parse YAML themselves.
package config
