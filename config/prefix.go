package config

import (
	"net/netip"
	"strings"
)

// ParsePrefix reads an address list entry of pbx.yaml: a CIDR
// (192.0.2.0/24) or a bare address, which stands for itself alone.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
