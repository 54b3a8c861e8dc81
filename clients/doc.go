// Package clients keeps the ECCP client accounts added at run time (with
// `pbx eccp client add`) in the store, beside those of pbx.yaml's
// eccp.clients: a user name and the MD5 of its password, never the
// password itself. The ECCP server reads List when a client logs in, so an
// account added while the PBX runs works at once.
//
// It sits on floor 2, just above store: it imports store only, so that the
// eccp server and the command line can both use it.
package clients
