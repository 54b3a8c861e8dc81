package config

import (
	"fmt"
	"strings"
	"time"
)

// The defaults of every option. pbx.yaml shows the same values; a test
// checks the two agree.
const (
	DefaultNode           = "pbx1"
	DefaultLogLevel       = "info"
	DefaultSIPUDP         = ":5060"
	DefaultSIPTCP         = ":5060"
	DefaultRealm          = "pbx"
	DefaultNonceTTL       = 5 * time.Minute
	DefaultMinExpires     = 60
	DefaultMaxExpires     = 3600
	DefaultDefaultExpires = 600
	DefaultQualifyEvery   = 30 * time.Second
	DefaultUserAgent      = "pbx"
	DefaultHTTPListen     = ":8088"
	DefaultRTPPortMin     = 20000
	DefaultRTPPortMax     = 29999
	DefaultRTPTimeout     = 60 * time.Second
	DefaultRTCPEvery      = 5 * time.Second
	DefaultRingTimeout    = 30 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultSessionExpires = 0 // session timers not requested by the PBX
	DefaultMinSE          = 90 * time.Second
	DefaultMaxLegs        = 0 // derived from the open-file limit and the RTP port range
	DefaultMaxSetup       = 0 // derived from the legs limit
	DefaultMaxFailures    = 5
	DefaultWindow         = 60 * time.Second
	DefaultBanFor         = 15 * time.Minute
	DefaultTrunkTransport = "udp"
	DefaultTrunkExpires   = 3600

	DefaultMusicClass        = "default"
	DefaultRecordKey         = "*1"
	DefaultBlindTransfer     = "##"
	DefaultAttendedTransfer  = "*2"
	DefaultDigitTimeout      = 3 * time.Second
	DefaultConferenceMuteKey = "*"
	DefaultRecordingsPath    = "{yyyy}/{mm}/{dd}/{id}.wav"
	DefaultRecordingsMode    = "stereo"
	DefaultRecordingsMaxDur  = 4 * time.Hour

	DefaultRWIMaxConnections = 10
	DefaultRWIMaxLegs        = 200
	DefaultRWIOriginateRate  = 10.0
	DefaultRWIOrphanHold     = 30 * time.Second
	DefaultRWIOfferTimeout   = 10 * time.Second
	DefaultRWIMaxFrame       = 65536

	DefaultQueueStrategy      = "ringall"
	DefaultQueueRingTimeout   = 15 * time.Second
	DefaultQueueRetry         = 5 * time.Second
	DefaultQueueProgressively = 10 * time.Second
	DefaultQueueServiceLevel  = 20 * time.Second
	DefaultQueueCallbackTries = 3
	DefaultQueueCallbackRetry = 60 * time.Second
	DefaultAutopauseBreak     = "missed"
	DefaultQueueLog           = "queue_log"
	DefaultShutdownPrompt     = "queue-closed"
	DefaultStatsInterval      = 15 * time.Minute
	DefaultRetentionEvery     = time.Hour
)

// DefaultBreaks are the pause types when the file names none: what agents
// most often step away for, and "missed", which an autopause records.
func DefaultBreaks() []Break {
	return []Break{{Name: "lunch", Code: "1"}, {Name: "meeting", Code: "2"}, {Name: "training", Code: "3"}, {Name: DefaultAutopauseBreak}}
}

// DefaultRWICIDRs are the addresses an RWI token may connect from when it
// names none: loopback only, so a token copied by mistake is useless from
// the network.
func DefaultRWICIDRs() []string { return []string{"127.0.0.0/8", "::1/128"} }

// DefaultCodecs is the codec preference when the file names none.
func DefaultCodecs() []string { return []string{"PCMU", "PCMA"} }

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

// applyDefaults fills every option left at its zero value. A few options
// use their zero value to mean "off" (a listen address of "", an interval
// of 0): those get their default only when the file does not mention them
// at all, so that `tcp: ""` or `rtp_timeout: 0` turns the feature off.
func (c *Config) applyDefaults() {
	absent := func(path string) bool { _, given := c.lines[path]; return !given }
	if absent("sip.udp") {
		c.SIP.UDP = DefaultSIPUDP
	}
	if absent("sip.tcp") {
		c.SIP.TCP = DefaultSIPTCP
	}
	if absent("http.listen") {
		c.HTTP.Listen = DefaultHTTPListen
	}
	if absent("sip.qualify_every") {
		c.SIP.QualifyEvery = DefaultQualifyEvery
	}
	if absent("media.inband_dtmf") {
		c.Media.InbandDTMF = true
	}
	if absent("media.rtp_timeout") {
		c.Media.RTPTimeout = DefaultRTPTimeout
	}
	setStr(&c.Node, DefaultNode)
	setStr(&c.Log.Level, DefaultLogLevel)
	setStr(&c.SIP.Realm, DefaultRealm)
	setDur(&c.SIP.NonceTTL, DefaultNonceTTL)
	setInt(&c.SIP.MinExpires, DefaultMinExpires)
	setInt(&c.SIP.MaxExpires, DefaultMaxExpires)
	setInt(&c.SIP.DefaultExpires, DefaultDefaultExpires)
	setStr(&c.SIP.UserAgent, DefaultUserAgent)
	setInt(&c.Media.RTPPortMin, DefaultRTPPortMin)
	setInt(&c.Media.RTPPortMax, DefaultRTPPortMax)
	setDur(&c.Media.RTCPEvery, DefaultRTCPEvery)
	if len(c.Media.Codecs) == 0 {
		c.Media.Codecs = DefaultCodecs()
	}
	setDur(&c.Calls.RingTimeout, DefaultRingTimeout)
	setDur(&c.Calls.DrainTimeout, DefaultDrainTimeout)
	setDur(&c.Calls.SessionExpires, DefaultSessionExpires)
	setDur(&c.Calls.MinSE, DefaultMinSE)
	setInt(&c.Calls.MaxLegs, DefaultMaxLegs)
	setInt(&c.Calls.MaxSetup, DefaultMaxSetup)
	setInt(&c.Security.MaxFailures, DefaultMaxFailures)
	setDur(&c.Security.Window, DefaultWindow)
	setDur(&c.Security.BanFor, DefaultBanFor)
	if absent("features.record") {
		c.Features.Record = DefaultRecordKey
	}
	if absent("features.blind_transfer") {
		c.Features.BlindTransfer = DefaultBlindTransfer
	}
	if absent("features.attended_transfer") {
		c.Features.AttendedTransfer = DefaultAttendedTransfer
	}
	setDur(&c.Features.DigitTimeout, DefaultDigitTimeout)
	if absent("conference.beep") {
		c.Conference.Beep = true
	}
	if absent("conference.mute_key") {
		c.Conference.MuteKey = DefaultConferenceMuteKey
	}
	if absent("recordings.beep") {
		c.Recordings.Beep = true
	}
	if absent("recordings.max_duration") {
		c.Recordings.MaxDuration = DefaultRecordingsMaxDur
	}
	setStr(&c.Recordings.Path, DefaultRecordingsPath)
	setStr(&c.Recordings.Mode, DefaultRecordingsMode)
	c.rwiDefaults(absent)
	c.agentRPCDefaults(absent)
	c.eccpDefaults(absent)
	c.contactCenterDefaults(absent)
	for i := range c.Users {
		setStr(&c.Users[i].Music, DefaultMusicClass)
	}
	for i := range c.Trunks {
		setStr(&c.Trunks[i].Music, DefaultMusicClass)
		setStr(&c.Trunks[i].Transport, DefaultTrunkTransport)
		setInt(&c.Trunks[i].Expires, DefaultTrunkExpires)
	}
}

// rwiDefaults fills the rwi section. orphan_hold keeps an explicit 0
// (orphaned legs go to the fallback at once).
func (c *Config) rwiDefaults(absent func(string) bool) {
	r := &c.RWI
	setInt(&r.MaxLegs, DefaultRWIMaxLegs)
	if r.OriginateRate == 0 {
		r.OriginateRate = DefaultRWIOriginateRate
	}
	if absent("rwi.orphan_hold") {
		r.OrphanHold = DefaultRWIOrphanHold
	}
	setDur(&r.OfferTimeout, DefaultRWIOfferTimeout)
	setInt(&r.MaxFrame, DefaultRWIMaxFrame)
	for i := range r.Tokens {
		t := &r.Tokens[i]
		if len(t.CIDRs) == 0 {
			t.CIDRs = DefaultRWICIDRs()
		}
		setInt(&t.MaxConnections, DefaultRWIMaxConnections)
	}
}

// contactCenterDefaults fills the contact_center, queues and retention
// sections. Options whose zero means "off" keep an explicit zero or "":
// a queue's retry (offer again at once), the queue-log file and the
// shutdown prompt; breaks: [] leaves no break types.
func (c *Config) contactCenterDefaults(absent func(string) bool) {
	cc := &c.ContactCenter
	if absent("contact_center.breaks") {
		cc.Breaks = DefaultBreaks()
	}
	if absent("contact_center.queue_log") {
		cc.QueueLog = DefaultQueueLog
	}
	if absent("contact_center.shutdown_prompt") {
		cc.ShutdownPrompt = DefaultShutdownPrompt
	}
	setDur(&cc.StatsInterval, DefaultStatsInterval)
	setDur(&c.Retention.Every, DefaultRetentionEvery)
	for i := range c.Queues {
		q := &c.Queues[i]
		p := fmt.Sprintf("queues[%d]", i)
		setStr(&q.Strategy, DefaultQueueStrategy)
		setDur(&q.RingTimeout, DefaultQueueRingTimeout)
		if absent(p + ".retry") {
			q.Retry = DefaultQueueRetry
		}
		setDur(&q.Progressively, DefaultQueueProgressively)
		setDur(&q.ServiceLevel, DefaultQueueServiceLevel)
		setStr(&q.Music, DefaultMusicClass)
		setStr(&q.AutopauseAs, DefaultAutopauseBreak)
		setInt(&q.CallbackTries, DefaultQueueCallbackTries)
		setDur(&q.CallbackRetry, DefaultQueueCallbackRetry)
	}
}

// normalize writes the names it knows the way the packages above compare
// them: codecs upper case, log levels and trunk transports lower case.
// Names it does not know are left as written, for Validate to quote.
func (c *Config) normalize() {
	lower := func(s *string, known map[string]bool) {
		if l := strings.ToLower(*s); known[l] {
			*s = l
		}
	}
	lower(&c.Log.Level, levels)
	for p, l := range c.Log.Packages {
		lower(&l, levels)
		c.Log.Packages[p] = l
	}
	for i, name := range c.Media.Codecs {
		if u := strings.ToUpper(name); codecs[u] {
			c.Media.Codecs[i] = u
		}
	}
	for i := range c.Trunks {
		lower(&c.Trunks[i].Transport, transports)
	}
	lower(&c.Recordings.Mode, recordingModes)
	for i := range c.Queues {
		q := &c.Queues[i]
		lower(&q.Strategy, strategies)
		lower(&q.Record, recordingModes)
		for j := range q.JoinEmpty {
			lower(&q.JoinEmpty[j], emptyConditions)
		}
		for j := range q.LeaveEmpty {
			lower(&q.LeaveEmpty[j], emptyConditions)
		}
	}
}
