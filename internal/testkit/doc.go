// Package testkit is the one place for test helpers: a softphone built on
// sipgo that registers, calls, answers, sends a tone and listens; tone
// detection; a SIPp runner; and a helper that starts the whole PBX
// in-process on free loopback ports with a temporary data directory.
package testkit
