package config

import "time"

func setStr(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func setInt(i *int, v int) {
	if *i == 0 {
		*i = v
	}
}

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// applyDefaults fills every option the file leaves out. Options where an
// empty or zero value means "off" get their default only when absent.
func (c *Config) applyDefaults(given map[string]int) {
	absent := func(path string) bool { _, ok := given[path]; return !ok }
	if absent("sip.udp") {
		c.SIP.UDP = ":5060"
	}
	if absent("sip.tcp") {
		c.SIP.TCP = ":5060"
	}
	if absent("http.listen") {
		c.HTTP.Listen = ":8088"
	}
	if absent("sip.qualify_every") {
		c.SIP.QualifyEvery = 30 * time.Second
	}
	if absent("media.rtp_timeout") {
		c.Media.RTPTimeout = 60 * time.Second
	}
	setStr(&c.Node, "pbx1")
	setStr(&c.Log.Level, "info")
	setStr(&c.SIP.Realm, "pbx")
	setDur(&c.SIP.NonceTTL, 5*time.Minute)
	setInt(&c.SIP.MinExpires, 60)
	setInt(&c.SIP.MaxExpires, 3600)
	setInt(&c.SIP.DefaultExpires, 600)
	setStr(&c.SIP.UserAgent, "pbx")
	setInt(&c.Media.RTPPortMin, 20000)
	setInt(&c.Media.RTPPortMax, 29999)
	setDur(&c.Media.RTCPEvery, 5*time.Second)
	if len(c.Media.Codecs) == 0 {
		c.Media.Codecs = []string{"PCMU", "PCMA"}
	}
	setDur(&c.Calls.RingTimeout, 30*time.Second)
	setDur(&c.Calls.DrainTimeout, 30*time.Second)
	setDur(&c.Calls.MinSE, 90*time.Second)
	setInt(&c.Security.MaxFailures, 5)
	setDur(&c.Security.Window, time.Minute)
	setDur(&c.Security.BanFor, 15*time.Minute)
	for i := range c.Trunks {
		setStr(&c.Trunks[i].Transport, "udp")
		setInt(&c.Trunks[i].Expires, 3600)
	}
}
