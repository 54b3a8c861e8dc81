// Package e2e holds the end-to-end tests: the whole PBX runs in-process on
// loopback, and softphones built on sipgo (and SIPp) call through it over
// real sockets, sending real RTP. Each test reads as the scenario it proves
// and asserts what every party hears.
package e2e
