package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A valid contact center, to which test cases append lines: users 1001 and
// 1002, a static agent 9001 and a dynamic member 1003, and queue sales
// (line 14) whose item keys are indented by four spaces. Appended lines
// start at line 18.
const ccYAML = "users:\n" + // 1
	"  - extension: \"1001\"\n" + // 2
	"    password: x\n" + // 3
	"  - extension: \"1002\"\n" + // 4
	"    password: y\n" + // 5
	"agents:\n" + // 6
	"  - id: \"9001\"\n" + // 7
	"    pin: \"1234\"\n" + // 8
	"  - id: \"1003\"\n" + // 9
	"    contact: \"1003\"\n" + // 10
	"contact_center:\n" + // 11
	"  supervisors: [\"1001\"]\n" + // 12
	"queues:\n" + // 13
	"  - name: sales\n" + // 14
	"    members:\n" + // 15
	"      - agent: \"9001\"\n" + // 16
	"      - agent: \"1003\"\n" // 17

// The same without the queue, for cases that write their own (line 13 on).
const ccNoQueue = "users:\n  - extension: \"1001\"\n    password: x\n  - extension: \"1002\"\n    password: y\n" +
	"agents:\n  - id: \"9001\"\n    pin: \"1234\"\n  - id: \"1003\"\n    contact: \"1003\"\n" +
	"contact_center:\n  supervisors: [\"1001\"]\n"

// Every problem of the contact-center sections names the file, the line
// and the field; the expected text is the start of the first error line.
func TestContactCenterErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		// Queues.
		{"queue name absent", ccNoQueue + "queues:\n  - strategy: ringall\n", "bad.yaml:14: queues[0].name: required"},
		{"queue name with a comma", ccNoQueue + "queues:\n  - name: a,b\n", "bad.yaml:14: queues[0].name: want up to 32 letters, digits, '-' or '_', got \"a,b\""},
		{"queue name with a colon", ccNoQueue + "queues:\n  - name: \"a:b\"\n", "bad.yaml:14: queues[0].name: want up to 32 letters"},
		{"queue name too long", ccNoQueue + "queues:\n  - name: " + strings.Repeat("q", 33) + "\n", "bad.yaml:14: queues[0].name: want up to 32"},
		{"queue twice", ccYAML + "  - name: Sales\n", "bad.yaml:18: queues[1].name: duplicate queue Sales (also queues[0])"},
		{"unknown strategy", ccYAML + "    strategy: roundrobin\n", "bad.yaml:18: queues[0].strategy: unknown strategy \"roundrobin\": want one of ringall, leastrecent"},
		{"negative weight", ccYAML + "    weight: -1\n", "bad.yaml:18: queues[0].weight: must not be negative, got -1"},
		{"member not an agent", ccYAML + "      - agent: \"9002\"\n", "bad.yaml:18: queues[0].members[2].agent: no agent \"9002\" in agents"},
		{"member twice", ccYAML + "      - agent: \"9001\"\n        penalty: 2\n", "bad.yaml:18: queues[0].members[2].agent: agent 9001 listed twice"},
		{"member without agent", ccYAML + "      - penalty: 1\n", "bad.yaml:18: queues[0].members[2].agent: required"},
		{"negative penalty", ccNoQueue + "queues:\n  - name: q\n    members:\n      - agent: \"9001\"\n        penalty: -2\n", "bad.yaml:17: queues[0].members[0].penalty: must not be negative, got -2"},
		{"member a list", ccYAML + "      - [9001]\n", "bad.yaml:18: queues[0].members[2]: want a mapping of agent, penalty"},
		{"skill level 0", ccYAML + "    skills: {english: 0}\n", "bad.yaml:18: queues[0].skills.english: want a level from 1 to 100, got 0"},
		{"skill level 101", ccYAML + "    skills:\n      english: 101\n", "bad.yaml:19: queues[0].skills.english: want a level from 1 to 100, got 101"},
		{"skill name", ccYAML + "    skills:\n      \"a b\": 5\n", "bad.yaml:19: queues[0].skills.a b: skill name: want up to 32 letters"},

		// Rules.
		{"rule negative after", ccYAML + "    rules:\n      - after: -1s\n        max_penalty: 1\n", "bad.yaml:19: queues[0].rules[0].after: must not be negative, got -1s"},
		{"rules out of order", ccYAML + "    rules:\n      - after: 60s\n        max_penalty: 1\n      - after: 30s\n        max_penalty: 2\n", "bad.yaml:21: queues[0].rules[1].after: want rules in order of after, each later than the one before (1m0s), got 30s"},
		{"rules at the same time", ccYAML + "    rules:\n      - after: 0s\n        max_penalty: 1\n      - after: 0s\n        max_penalty: 2\n", "bad.yaml:21: queues[0].rules[1].after: want rules in order of after"},
		{"rule changes nothing", ccYAML + "    rules:\n      - after: 10s\n", "bad.yaml:19: queues[0].rules[0]: changes nothing: want max_penalty, min_penalty or skills"},
		{"rule min above max", ccYAML + "    rules:\n      - after: 0s\n        max_penalty: 1\n        min_penalty: 2\n", "bad.yaml:21: queues[0].rules[0].min_penalty: min_penalty 2 above max_penalty 1 from this rule on"},
		{"rule max below the min in force", ccYAML + "    rules:\n      - after: 0s\n        min_penalty: 3\n      - after: 1m\n        max_penalty: 2\n", "bad.yaml:22: queues[0].rules[1].max_penalty: min_penalty 3 above max_penalty 2"},
		{"rule negative max", ccYAML + "    rules:\n      - after: 0s\n        max_penalty: -1\n", "bad.yaml:20: queues[0].rules[0].max_penalty: must not be negative, got -1"},
		{"rule negative min", ccYAML + "    rules:\n      - after: 0s\n        min_penalty: -1\n", "bad.yaml:20: queues[0].rules[0].min_penalty: must not be negative, got -1"},
		{"rule penalty not a number", ccYAML + "    rules:\n      - after: 0s\n        max_penalty: lots\n", "bad.yaml:20: queues[0].rules[0].max_penalty: want a whole number, got \"lots\""},
		{"rule skill level above 100", ccYAML + "    rules:\n      - after: 0s\n        skills: {english: 101}\n", "bad.yaml:20: queues[0].rules[0].skills.english: want a level from 0 to 100, got 101"},
		{"rule skill negative", ccYAML + "    rules:\n      - after: 0s\n        skills:\n          english: -1\n", "bad.yaml:21: queues[0].rules[0].skills.english: want a level from 0 to 100, got -1"},
		{"rule after without unit", ccYAML + "    rules:\n      - after: 30\n        max_penalty: 1\n", "bad.yaml:19: queues[0].rules[0].after: want a duration with a unit"},

		// Times and limits.
		{"ring timeout negative", ccYAML + "    ring_timeout: -1s\n", "bad.yaml:18: queues[0].ring_timeout: must be more than 0, got -1s"},
		{"retry negative", ccYAML + "    retry: -1s\n", "bad.yaml:18: queues[0].retry: must not be negative, got -1s"},
		{"progressively negative", ccYAML + "    progressively: -1s\n", "bad.yaml:18: queues[0].progressively: must be more than 0"},
		{"wrapup negative", ccYAML + "    wrapup: -1s\n", "bad.yaml:18: queues[0].wrapup: must not be negative"},
		{"max wait negative", ccYAML + "    max_wait: -1m\n", "bad.yaml:18: queues[0].max_wait: must not be negative"},
		{"service level negative", ccYAML + "    service_level: -20s\n", "bad.yaml:18: queues[0].service_level: must be more than 0"},
		{"max callers negative", ccYAML + "    max_callers: -1\n", "bad.yaml:18: queues[0].max_callers: want 0 (no limit) or more, got -1"},
		{"fallback bad kind", ccYAML + "    fallback: \"Voice Mail\"\n", "bad.yaml:18: queues[0].fallback: \"Voice Mail\": want kind or kind:arguments"},
		{"fallback empty argument", ccYAML + "    fallback: \"extension:\"\n", "bad.yaml:18: queues[0].fallback: \"extension:\": empty or padded argument"},
		{"join empty unknown", ccYAML + "    join_empty: [paused, asleep]\n", "bad.yaml:18: queues[0].join_empty[1]: unknown member condition \"asleep\": want paused, penalty"},
		{"join empty twice", ccYAML + "    join_empty:\n      - paused\n      - Paused\n", "bad.yaml:20: queues[0].join_empty[1]: paused listed twice"},
		{"leave empty unknown", ccYAML + "    leave_empty: [unknown]\n", "bad.yaml:18: queues[0].leave_empty[0]: unknown member condition \"unknown\""},
		{"autopause negative", ccYAML + "    autopause: -1\n", "bad.yaml:18: queues[0].autopause: want 0 (never) or more, got -1"},
		{"autopause to no break", ccYAML + "    autopause: 2\n    autopause_as: nap\n", "bad.yaml:19: queues[0].autopause_as: no break named \"nap\" in contact_center.breaks"},
		{"autopause without breaks", ccNoQueue + "  breaks: []\nqueues:\n  - name: q\n    autopause: 1\n", "bad.yaml:15: queues[0].autopause_as: no break named \"missed\""},
		{"record", ccYAML + "    record: quad\n", "bad.yaml:18: queues[0].record: want \"\" (off), mono or stereo, got \"quad\""},
		{"music", ccYAML + "    music: jazz\n", "bad.yaml:18: queues[0].music: no hold-music class \"jazz\""},

		// Announcements.
		{"announce bad prompt", ccYAML + "    announce: ../etc/passwd\n", "bad.yaml:18: queues[0].announce: want a prompt name such as welcome or digits/3"},
		{"announce every negative", ccYAML + "    announce_every: -30s\n", "bad.yaml:18: queues[0].announce_every: must not be negative"},
		{"position never said", ccYAML + "    position: true\n", "bad.yaml:18: queues[0].position: never said: set announce_every"},
		{"hold time never said", ccYAML + "    hold_time: true\n", "bad.yaml:18: queues[0].hold_time: never said: set announce_every"},
		{"periodic bad prompt", ccYAML + "    periodic_every: 1m\n    periodic: [thank-you, \"a b\"]\n", "bad.yaml:19: queues[0].periodic[1]: want a prompt name"},
		{"periodic never played", ccYAML + "    periodic: [thank-you-for-waiting]\n", "bad.yaml:18: queues[0].periodic: never played: set periodic_every"},
		{"periodic every negative", ccYAML + "    periodic_every: -1s\n", "bad.yaml:18: queues[0].periodic_every: must not be negative"},

		// Keys.
		{"exit key two keys", ccYAML + "    exit_keys:\n      \"00\": extension:1001\n", "bad.yaml:19: queues[0].exit_keys.00: want one DTMF key (0-9 * # A-D), got \"00\""},
		{"exit key a letter", ccYAML + "    exit_keys:\n      x: extension:1001\n", "bad.yaml:19: queues[0].exit_keys.x: want one DTMF key"},
		{"exit key bad target", ccYAML + "    exit_keys:\n      \"0\": \"operator desk\"\n", "bad.yaml:19: queues[0].exit_keys.0: \"operator desk\": want kind or kind:arguments"},
		{"exit key no target", ccYAML + "    exit_keys:\n      \"0\": \"\"\n", "bad.yaml:19: queues[0].exit_keys.0: required"},
		{"callback key two keys", ccYAML + "    callback_key: \"12\"\n", "bad.yaml:18: queues[0].callback_key: want one DTMF key (0-9 * # A-D), got \"12\""},
		{"callback key an exit key", ccYAML + "    exit_keys:\n      \"1\": extension:1001\n    callback_key: \"1\"\n", "bad.yaml:20: queues[0].callback_key: 1 is also an exit key"},
		{"callback tries negative", ccYAML + "    callback_tries: -1\n", "bad.yaml:18: queues[0].callback_tries: want at least 1, got -1"},
		{"callback retry negative", ccYAML + "    callback_retry: -1m\n", "bad.yaml:18: queues[0].callback_retry: must be more than 0"},
		{"unknown queue key", ccYAML + "    musicclass: default\n", "bad.yaml:18: queues[0].musicclass: unknown key"},
		{"typo in a queue key", ccYAML + "    ring_timout: 5s\n", "bad.yaml:18: queues[0].ring_timout: unknown key (did you mean ring_timeout?)"},

		// Agents.
		{"agent id not digits", "agents:\n  - id: bob\n    pin: \"1234\"\n", "bad.yaml:2: agents[0].id: want 1 to 15 digits, got \"bob\""},
		{"agent id absent", "agents:\n  - pin: \"1234\"\n", "bad.yaml:2: agents[0].id: want 1 to 15 digits, got \"\""},
		{"agent twice", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n  - id: \"9001\"\n    contact: \"1002\"\n", "bad.yaml:4: agents[1].id: duplicate agent 9001 (also agents[0])"},
		{"agent neither pin nor contact", "agents:\n  - id: \"9001\"\n    name: Dave\n", "bad.yaml:2: agents[0]: want pin (a static agent, who logs in from any phone) or contact (a dynamic member, rung for each call)"},
		{"agent pin and contact", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    contact: \"1002\"\n", "bad.yaml:4: agents[0].contact: want pin or contact, not both"},
		{"agent pin short", "agents:\n  - id: \"9001\"\n    pin: \"123\"\n", "bad.yaml:3: agents[0].pin: want 4 to 12 digits"},
		{"agent pin long", "agents:\n  - id: \"9001\"\n    pin: \"1234567890123\"\n", "bad.yaml:3: agents[0].pin: want 4 to 12 digits"},
		{"agent pin not digits", "agents:\n  - id: \"9001\"\n    pin: abcd\n", "bad.yaml:3: agents[0].pin: want 4 to 12 digits"},
		{"agent contact a URI", "agents:\n  - id: \"9001\"\n    contact: sip:bob@example.net\n", "bad.yaml:3: agents[0].contact: want a number dialled through the dial plan"},
		{"agent name with a pipe", "agents:\n  - id: \"9001\"\n    name: a|b\n    pin: \"1234\"\n", "bad.yaml:3: agents[0].name: want one line without '|'"},
		{"static agent auto login", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    auto_login: true\n", "bad.yaml:4: agents[0].auto_login: only a dynamic member"},
		{"agent wrapup negative", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    wrapup: -5s\n", "bad.yaml:4: agents[0].wrapup: must not be negative, got -5s"},
		{"agent wrapup without unit", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    wrapup: 5\n", "bad.yaml:4: agents[0].wrapup: want a duration with a unit"},
		{"agent skill level 0", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    skills: {english: 0}\n", "bad.yaml:4: agents[0].skills.english: want a level from 1 to 100, got 0"},
		{"agent supervisor not a bool", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    supervisor: sometimes\n", "bad.yaml:4: agents[0].supervisor: want true or false"},

		// Contact center.
		{"break name absent", "contact_center:\n  breaks:\n    - code: \"1\"\n", "bad.yaml:3: contact_center.breaks[0].name: required"},
		{"break name with space", "contact_center:\n  breaks:\n    - name: coffee break\n", "bad.yaml:3: contact_center.breaks[0].name: want up to 32 letters"},
		{"break twice", "contact_center:\n  breaks:\n    - name: lunch\n    - name: Lunch\n", "bad.yaml:4: contact_center.breaks[1].name: duplicate break Lunch (also breaks[0])"},
		{"break code twice", "contact_center:\n  breaks:\n    - name: lunch\n      code: \"1\"\n    - name: nap\n      code: \"1\"\n", "bad.yaml:6: contact_center.breaks[1].code: code 1 is also breaks[0]'s"},
		{"break code not digits", "contact_center:\n  breaks:\n    - name: lunch\n      code: \"*1\"\n", "bad.yaml:4: contact_center.breaks[0].code: want 1 to 8 digits"},
		{"shutdown prompt", "contact_center:\n  shutdown_prompt: /etc/passwd\n", "bad.yaml:2: contact_center.shutdown_prompt: want a prompt name"},
		{"shutdown target", "contact_center:\n  shutdown_target: \"trunk: overflow\"\n", "bad.yaml:2: contact_center.shutdown_target: \"trunk: overflow\": empty or padded argument"},
		{"queue log on two lines", "contact_center:\n  queue_log: \"a\\nb\"\n", "bad.yaml:2: contact_center.queue_log: want a file path on one line"},
		{"supervisor unknown", "users:\n  - extension: \"1001\"\n    password: x\ncontact_center:\n  supervisors: [\"1001\", \"1009\"]\n", "bad.yaml:5: contact_center.supervisors[1]: no user with extension \"1009\""},
		{"supervisor twice", "users:\n  - extension: \"1001\"\n    password: x\ncontact_center:\n  supervisors:\n    - \"1001\"\n    - \"1001\"\n", "bad.yaml:7: contact_center.supervisors[1]: 1001 listed twice"},
		{"stats interval short", "contact_center:\n  stats_interval: 30s\n", "bad.yaml:2: contact_center.stats_interval: want 1m to 24h, dividing a day evenly (such as 15m or 1h), got 30s"},
		{"stats interval uneven", "contact_center:\n  stats_interval: 7m\n", "bad.yaml:2: contact_center.stats_interval: want 1m to 24h, dividing a day evenly"},
		{"stats interval long", "contact_center:\n  stats_interval: 48h\n", "bad.yaml:2: contact_center.stats_interval: want 1m to 24h"},
		{"unknown contact center key", "contact_center:\n  break: []\n", "bad.yaml:2: contact_center.break: unknown key (did you mean breaks?)"},

		// Retention.
		{"cdr negative", "retention:\n  cdr: -1h\n", "bad.yaml:2: retention.cdr: want 0 (keep) or at least 1h, got -1h0m0s"},
		{"cdr too short", "retention:\n  cdr: 30m\n", "bad.yaml:2: retention.cdr: want 0 (keep) or at least 1h, got 30m0s"},
		{"queue log too short", "retention:\n  queue_log: 1s\n", "bad.yaml:2: retention.queue_log: want 0 (keep) or at least 1h"},
		{"stats shorter than a day", "retention:\n  stats: 12h\n", "bad.yaml:2: retention.stats: want 0 (keep) or at least 24h, got 12h0m0s"},
		{"prune too often", "retention:\n  every: 1s\n", "bad.yaml:2: retention.every: want at least 1m, got 1s"},
		{"retention without unit", "retention:\n  cdr: 30\n", "bad.yaml:2: retention.cdr: want a duration with a unit such as 30s or 5m, got \"30\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v %+v %+v", c.Queues, c.Agents, c.ContactCenter)
			}
			if c != nil {
				t.Error("a Config returned with an error")
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "bad.yaml" || ce.Line == 0 || ce.Field == "" {
				t.Fatalf("error %v is not a *Error naming the file, line and field", err)
			}
		})
	}
}

// What a queue, an agent and the sections take when the file leaves them
// out, and explicit zeros that mean "off" kept as written.
func TestContactCenterDefaults(t *testing.T) {
	dflt := Queue{Name: "q", Strategy: "ringall", RingTimeout: 15 * time.Second, Retry: 5 * time.Second,
		Progressively: 10 * time.Second, AutopauseAs: "missed", ServiceLevel: 20 * time.Second, Music: "default",
		CallbackTries: 3, CallbackRetry: time.Minute}
	with := func(f func(q *Queue)) Queue { q := dflt; f(&q); return q }
	thirty := 30 * time.Second
	one, five := 1, 5
	tests := []struct {
		name  string
		yaml  string
		queue Queue
	}{
		{"name only", "queues:\n  - name: q\n", dflt},
		{"zeros take the defaults", "queues:\n  - name: q\n    strategy: \"\"\n    ring_timeout: 0\n    progressively: 0\n    service_level: 0\n" +
			"    music: \"\"\n    autopause_as: \"\"\n    callback_tries: 0\n    callback_retry: 0\n", dflt},
		{"retry 0 is kept", "queues:\n  - name: q\n    retry: 0\n", with(func(q *Queue) { q.Retry = 0 })},
		{"names are normalized", "queues:\n  - name: q\n    strategy: Longest-Idle-Agent\n    record: STEREO\n    join_empty: [Paused, LoggedOut]\n",
			with(func(q *Queue) {
				q.Strategy, q.Record, q.JoinEmpty = "longest-idle-agent", "stereo", []string{"paused", "loggedout"}
			})},
		{"rules keep what they leave out", "queues:\n  - name: q\n    rules:\n      - after: 0s\n        max_penalty: 1\n      - after: 30s\n        max_penalty: 5\n        skills: {english: 0}\n      - after: 1m\n        min_penalty: 1\n",
			with(func(q *Queue) {
				q.Rules = []QueueRule{{MaxPenalty: &one}, {After: thirty, MaxPenalty: &five, Skills: map[string]int{"english": 0}}, {After: time.Minute, MinPenalty: &one}}
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("ok.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Queues[0], tt.queue) {
				t.Fatalf("queue:\n got %+v\nwant %+v", c.Queues[0], tt.queue)
			}
		})
	}

	// An agent's wrapup: absent or empty is the queue's (nil), 0 is none.
	for _, tt := range []struct {
		yaml string
		want *time.Duration
	}{
		{"", nil},
		{"    wrapup:\n", nil},
		{"    wrapup: 0\n", new(time.Duration)},
		{"    wrapup: 30s\n", &thirty},
	} {
		c, err := Parse("ok.yaml", []byte("agents:\n  - id: \"9001\"\n    pin: \"1234\"\n"+tt.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Agents[0].Wrapup; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: wrapup %v, want %v", tt.yaml, got, tt.want)
		}
	}

	// Sections: "" and [] turn the queue-log file, the shutdown prompt and
	// the break types off; other zeros take the defaults.
	c, err := Parse("ok.yaml", []byte("contact_center:\n  breaks: []\n  queue_log: \"\"\n  shutdown_prompt: \"\"\n  stats_interval: 0\nretention:\n  every: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := ContactCenter{Breaks: []Break{}, StatsInterval: 15 * time.Minute}
	if !reflect.DeepEqual(c.ContactCenter, want) || c.Retention != (Retention{Every: time.Hour}) {
		t.Fatalf("contact center %+v retention %+v", c.ContactCenter, c.Retention)
	}
}

// A whole contact center, with every option set, parses as written.
func TestContactCenterParses(t *testing.T) {
	y := ccYAML +
		"    strategy: rrmemory\n    weight: 2\n    skills: {english: 50}\n" +
		"    rules:\n      - after: 0s\n        max_penalty: 0\n      - after: 2m\n        max_penalty: 3\n        skills: {english: 0}\n" +
		"    ring_timeout: 20s\n    retry: 2s\n    wrapup: 15s\n    max_callers: 10\n    max_wait: 5m\n    fallback: extension:1001\n" +
		"    join_empty: [paused, unavailable, loggedout]\n    leave_empty: [loggedout]\n    autopause: 2\n    ring_in_use: true\n" +
		"    record: mono\n    music: calm\n    announce: welcome\n    announce_every: 1m\n    position: true\n    hold_time: true\n" +
		"    periodic: [thank-you-for-waiting, your-call-will-be-answered]\n    periodic_every: 40s\n" +
		"    exit_keys:\n      \"0\": extension:1001\n      \"#\": play:goodbye\n    callback_key: \"*\"\n    callback_tries: 5\n    callback_retry: 2m\n" +
		"  - name: billing_2\n    strategy: ring-progressively\n    progressively: 5s\n" +
		"retention:\n  cdr: 2160h\n  queue_log: 720h\n  stats: 8760h\n  every: 10m\n"
	c, err := Parse("ok.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	q := c.Queues[0]
	if q.Strategy != "rrmemory" || q.Weight != 2 || len(q.Rules) != 2 || *q.Rules[1].MaxPenalty != 3 || q.Wrapup != 15*time.Second ||
		q.Fallback != "extension:1001" || len(q.ExitKeys) != 2 || q.CallbackKey != "*" || q.CallbackTries != 5 || q.Music != "calm" {
		t.Fatalf("queue %+v", q)
	}
	if c.Queues[1].Progressively != 5*time.Second || c.Retention.CDR != 90*24*time.Hour || c.Retention.Every != 10*time.Minute {
		t.Fatalf("queues %+v retention %+v", c.Queues[1], c.Retention)
	}
}

// Validate can be called again on a contact center changed in code (as the
// control planes do before persisting one): a problem names the queue's
// line when the field was never in the file.
func TestContactCenterValidateInCode(t *testing.T) {
	c, err := Parse("x.yaml", []byte(ccYAML))
	if err != nil {
		t.Fatal(err)
	}
	c.Queues[0].Members = append(c.Queues[0].Members, Member{Agent: "42"})
	c.Queues[0].Strategy = "fifo"
	err = c.Validate()
	want := "x.yaml:14: queues[0].strategy: unknown strategy \"fifo\": want one of " + strings.Join(Strategies, ", ") + "\n" +
		"x.yaml:15: queues[0].members[2].agent: no agent \"42\" in agents"
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
}
