#!/usr/bin/env bash
# generate.sh - regenerate every audio file in sounds/ from scratch.
#
# Requires (Debian packages):   apt-get install -y espeak-ng sox
#   espeak-ng  synthesizes the spoken prompts and numbers,
#   sox        converts, trims and normalizes them, and synthesizes the
#              beep and the hold music (no samples are used anywhere).
#
# Output: 8 kHz, mono, signed 16-bit PCM WAV files with a plain 44-byte
# header, next to this script:
#   <prompt>.wav        spoken prompts, peak-normalized to -3 dBFS
#   digits/<n>.wav      numbers and keypad symbols for sounds.Number/Digits
#   music/default.wav   64 s of original hold music, seamlessly loopable
#   music/calm.wav      30 s of original hold music, seamlessly loopable
# The music peaks at -8 dBFS, which puts its RMS level just under that of
# the prompts, so it never sounds louder than speech.
#
# The script is idempotent: it deletes the previously generated .wav files
# and recreates them; sox runs in repeatable mode without dither, so the
# same tool versions give byte-identical output. It can be run from any
# directory.
set -euo pipefail

for tool in espeak-ng sox; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "generate.sh: $tool not found; install it with: apt-get install -y espeak-ng sox" >&2
		exit 1
	fi
done

cd "$(dirname "${BASH_SOURCE[0]}")"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Common sox settings: -D no dither, -R repeatable (deterministic) output.
SOX=(sox -D -R -V1)
# Final output format: 8 kHz, mono, signed 16-bit PCM.
OUTFMT=(-r 8000 -c 1 -b 16 -e signed-integer)
# Intermediate format for the music: 32-bit float for full precision. Note
# levels are chosen so that no mix comes near full scale (sox -V2 would
# report any clipping).
FLOAT=(-e floating-point -b 32)

# One voice for everything.
VOICE=(-v en-us -s 150)

rm -f ./*.wav
rm -rf digits music
mkdir -p digits music

# say NAME TEXT: speak TEXT into NAME.wav.
say() {
	local name="$1" text="$2"
	espeak-ng "${VOICE[@]}" -w "$TMP/say.wav" "$text"
	# highpass removes DC/rumble; the two silence passes trim leading and
	# trailing silence, then exactly 50 ms of silence is added to each end.
	"${SOX[@]}" "$TMP/say.wav" "${OUTFMT[@]}" -t wav "$name.wav" \
		highpass 100 rate -v 8000 \
		silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse \
		pad 0.05 0.05 norm -3
}

### Prompts ##################################################################

say welcome "Welcome."
say please-hold "Please hold. Your call is important to us."
say you-are-caller-number "You are caller number"
say estimated-wait "Your estimated wait time is"
say minutes "minutes"
say minute "minute"
say less-than-one-minute "less than one minute"
say agent-login "Agent login. Please enter your agent number, followed by the pound key."
say enter-password "Please enter your password, followed by the pound key."
say logged-in "You are now logged in."
say logged-out "You are now logged out."
say paused "You are paused."
say unpaused "You are no longer paused."
say invalid "That is not valid. Please try again."
say goodbye "Goodbye."
say conference-enter-pin "Please enter the conference pin, followed by the pound key."
say conference-joined "You are now in the conference."
say conference-only-one "You are the only person in this conference."
say muted "You are now muted."
say unmuted "You are no longer muted."
say recording-started "Recording started."
say recording-stopped "Recording stopped."
say transfer "Please hold while I transfer your call."
say transfer-failed "The transfer failed."
say echo-test "This is the echo test. What you say will be played back to you."
say no-answer "The person you are calling is not available."
say busy "The person you are calling is busy."
say all-agents-busy "All our agents are busy."
say thank-you-for-waiting "Thank you for waiting."
say your-call-will-be-answered "Your call will be answered shortly."
# Contact center: callback in queue, a closed queue, agent feature codes.
say queue-callback-offer "To keep your place in line and be called back, press 1."
say queue-callback-confirmed "Thank you. We will call you back when an agent is ready. Goodbye."
say queue-callback-intro "This is your call back. Please hold for the next agent."
say queue-closed "We are sorry, we cannot take your call now. Please call again later."
say agent-not-logged-in "You are not logged in as an agent."

# A 250 ms 1 kHz tone with 5 ms raised-cosine edges, at the speech level.
"${SOX[@]}" -n "${OUTFMT[@]}" -t wav beep.wav \
	synth 0.25 sine 1000 fade h 0.005 0.25 0.005 norm -3

### Numbers and keypad symbols ###############################################

ones=(zero one two three four five six seven eight nine ten eleven twelve
	thirteen fourteen fifteen sixteen seventeen eighteen nineteen)
for n in "${!ones[@]}"; do
	say "digits/$n" "${ones[$n]}"
done
tens=([20]=twenty [30]=thirty [40]=forty [50]=fifty [60]=sixty [70]=seventy
	[80]=eighty [90]=ninety)
for n in "${!tens[@]}"; do
	say "digits/$n" "${tens[$n]}"
done
say digits/hundred "hundred"
say digits/thousand "thousand"
say digits/million "million"
say digits/star "star"
say digits/pound "pound"

### Hold music ###############################################################
#
# Each piece is a list of notes (bar, beat, voice, MIDI note, length, level)
# synthesized by sox at 16 kHz. Notes are mixed per bar, the bars are laid
# out on a timeline, softened with a low-pass and a little reverb, and
# resampled to 8 kHz. The piece is a whole number of bars long; every note
# and the reverb tail that ring past the end are mixed back onto the
# beginning (the timeline is wrapped around a circle), so the last sample
# flows into the first exactly as the piece would continue if it were
# played twice in a row: the loop has no seam at all.

SYNTH_RATE=16000
TAIL_SEC=6 # longest release + reverb tail; must be shorter than the piece

# piece_start BPM: begin a new piece in 4/4 time.
piece_start() {
	BPM="$1"
	PIECE="$TMP/piece"
	rm -rf "$PIECE"
	mkdir -p "$PIECE"
	NOTE_SEQ=0
	BARS=0
}

# beats_to_secs BEATS: a number of beats (may be fractional) in seconds.
beats_to_secs() {
	awk -v b="$1" -v bpm="$BPM" 'BEGIN { printf "%.6f", b * 60 / bpm }'
}

# note BAR BEAT VOICE MIDI BEATS LEVEL
#   BAR counts from 0, BEAT from 0 (fractions allowed), BEATS is the held
#   length; the release is added after it. LEVEL is a linear amplitude.
note() {
	local bar="$1" beat="$2" voice="$3" midi="$4" len="$5" level="$6"
	local semi=$((midi - 69)) # sox "%n" is n semitones from A4 = 440 Hz
	local start hold
	start="$(beats_to_secs "$beat")"
	hold="$(beats_to_secs "$len")"
	local attack release
	case "$voice" in
	pad) attack=0.9 release=1.6 ;;
	warm) attack=1.4 release=2.2 ;;
	bass) attack=0.04 release=0.7 ;;
	pluck) attack=0.006 release=0.9 ;;
	bell) attack=0.01 release=2.5 ;;
	*)
		echo "generate.sh: unknown voice $voice" >&2
		exit 1
		;;
	esac
	local total
	total="$(awk -v h="$hold" -v r="$release" 'BEGIN { printf "%.6f", h + r }')"
	# Oscillators: the main one, and optionally a quiet overtone with its
	# relative level; both are mixed before the envelope is applied.
	local main over=() over_level=0
	case "$voice" in
	pad) # soft sine with a quiet triangle an octave up, slow swell
		main=(sine "%$semi") over=(triangle "%$((semi + 12))") over_level=0.2 ;;
	warm) # plain sine pad, slower swell and longer release
		main=(sine "%$semi") ;;
	bass) # triangle bass; its harmonics carry it through a phone line
		main=(triangle "%$semi") ;;
	pluck) # plucked string with a short, soft decay
		main=(pluck "%$semi") ;;
	bell) # sine plus a faint partial an octave and a fifth up, long decay
		main=(sine "%$semi") over=(sine "%$((semi + 19))") over_level=0.15 ;;
	esac
	mkdir -p "$PIECE/bar$bar"
	NOTE_SEQ=$((NOTE_SEQ + 1))
	local osc="$PIECE/osc.wav"
	"${SOX[@]}" -n -r "$SYNTH_RATE" -c 1 "${FLOAT[@]}" "$osc" synth "$total" "${main[@]}"
	if ((${#over[@]} > 0)); then
		"${SOX[@]}" -n -r "$SYNTH_RATE" -c 1 "${FLOAT[@]}" "$PIECE/over.wav" \
			synth "$total" "${over[@]}"
		"${SOX[@]}" -m -v 1 "$osc" -v "$over_level" "$PIECE/over.wav" \
			"${FLOAT[@]}" "$PIECE/both.wav"
		osc="$PIECE/both.wav"
	fi
	"${SOX[@]}" "$osc" "${FLOAT[@]}" "$PIECE/bar$bar/$(printf '%04d' "$NOTE_SEQ").wav" \
		fade q "$attack" "$total" "$release" vol "$level" pad "$start"
	if ((bar + 1 > BARS)); then
		BARS=$((bar + 1))
	fi
}

# piece_render OUT PEAK_DB: mix, wrap around the loop point, normalize.
piece_render() {
	local out="$1" peak="$2"
	local bar_secs piece_samples tail_samples
	bar_secs="$(beats_to_secs 4)"
	piece_samples="$(awk -v b="$BARS" -v s="$bar_secs" 'BEGIN { printf "%d", b * s * 8000 + 0.5 }')"
	tail_samples=$((TAIL_SEC * 8000))
	local placed=() b
	for ((b = 0; b < BARS; b++)); do
		local inputs=() f
		for f in "$PIECE/bar$b"/*.wav; do
			inputs+=(-v 1 "$f")
		done
		if ((${#inputs[@]} < 4)); then
			echo "generate.sh: bar $b needs at least two notes" >&2
			exit 1
		fi
		"${SOX[@]}" -m "${inputs[@]}" "${FLOAT[@]}" "$PIECE/placed$b.wav" \
			pad "$(awk -v b="$b" -v s="$bar_secs" 'BEGIN { printf "%.6f", b * s }')"
		placed+=(-v 1 "$PIECE/placed$b.wav")
	done
	# The linear (unwrapped) rendering: the piece plus its tail.
	"${SOX[@]}" -m "${placed[@]}" -r 8000 "${FLOAT[@]}" "$PIECE/linear.wav" \
		lowpass 2800 pad 0 "$TAIL_SEC" reverb 35 50 70 \
		rate -v 8000 trim 0 "$((piece_samples + tail_samples))s"
	# The wrap is exact only if everything has died away by the end of the
	# tail: check the last 100 ms against the loudness of the whole piece.
	local end_db all_db
	end_db="$("${SOX[@]}" "$PIECE/linear.wav" -n trim -0.1 stats 2>&1 | awk '/RMS lev dB/ { print $4 }')"
	all_db="$("${SOX[@]}" "$PIECE/linear.wav" -n stats 2>&1 | awk '/RMS lev dB/ { print $4 }')"
	if ! awk -v e="$end_db" -v a="$all_db" 'BEGIN { exit !(e == "-inf" || e < a - 60) }'; then
		echo "generate.sh: $out: tail still at $end_db dB after ${TAIL_SEC}s (piece $all_db dB); raise TAIL_SEC" >&2
		exit 1
	fi
	# Wrap: head = [0, piece), tail = [piece, piece+tail) mixed onto the head.
	"${SOX[@]}" "$PIECE/linear.wav" "$PIECE/head.wav" trim 0 "${piece_samples}s"
	"${SOX[@]}" "$PIECE/linear.wav" "$PIECE/tail.wav" trim "${piece_samples}s" \
		pad 0 "$((piece_samples - tail_samples))s"
	"${SOX[@]}" -m -v 1 "$PIECE/head.wav" -v 1 "$PIECE/tail.wav" \
		"${OUTFMT[@]}" -t wav "$out" norm "$peak" trim 0 "${piece_samples}s"
}

# pad_chord BAR VOICE LEVEL MIDI...: a chord held for the whole bar.
pad_chord() {
	local bar="$1" voice="$2" level="$3"
	shift 3
	local m
	for m in "$@"; do
		note "$bar" 0 "$voice" "$m" 4 "$level"
	done
}

# --- music/default: C major, 60 BPM, 16 bars = 64 s -----------------------
#
# Two eight-bar phrases over Cmaj7 Am7 Fmaj7 G6 | Em7 Am7 Dm7 Gsus4, the
# second one answering with Fmaj7 Em7 Dm7 G so the end leads back to the
# opening Cmaj7. Pad chords, a walking root/fifth bass, and a plucked
# arpeggio an octave above the pad.
piece_start 60
default_chords=(
	"48 60 64 67 71" # Cmaj7  (bass C3)
	"45 57 60 64 67" # Am7    (bass A2)
	"53 57 60 64 65" # Fmaj7  (bass F3; pad F A C E)
	"43 55 59 62 64" # G6     (bass G2)
	"52 55 59 62 64" # Em7    (bass E3)
	"45 57 60 64 67" # Am7
	"50 57 60 62 65" # Dm7    (bass D3)
	"43 55 60 62 67" # Gsus4
	"48 60 64 67 71" # Cmaj7
	"45 57 60 64 67" # Am7
	"53 57 60 64 65" # Fmaj7
	"43 55 59 62 64" # G6
	"53 57 60 64 65" # Fmaj7
	"52 55 59 62 64" # Em7
	"50 57 60 62 65" # Dm7
	"43 55 59 62 67" # G
)
# Arpeggio patterns: indexes into the four pad notes per eighth note,
# "-" is a rest. Phrase one rises, phrase two turns around.
arp_a=(0 1 2 3 2 1 - 2)
arp_b=(3 2 1 2 0 - 1 2)
for bar in "${!default_chords[@]}"; do
	read -r bass p1 p2 p3 p4 <<<"${default_chords[$bar]}"
	pads=("$p1" "$p2" "$p3" "$p4")
	pad_chord "$bar" pad 0.10 "${pads[@]}"
	fifth=$((bass + 7))
	note "$bar" 0 bass "$bass" 1.8 0.30
	note "$bar" 2 bass "$fifth" 1.3 0.26
	note "$bar" 3.5 bass "$bass" 0.4 0.22
	if ((bar < 8)); then
		pattern=("${arp_a[@]}")
	else
		pattern=("${arp_b[@]}")
	fi
	for i in "${!pattern[@]}"; do
		[[ ${pattern[$i]} == "-" ]] && continue
		m=$((pads[pattern[i]] + 12))
		note "$bar" "$(awk -v i="$i" 'BEGIN{print i/2}')" pluck "$m" 0.4 0.22
	done
done
piece_render music/default.wav -8

# --- music/calm: F major, 64 BPM, 8 bars = 30 s ----------------------------
#
# Slow sine pads over Fmaj7 Dm7 Bbmaj7 C | Fmaj7 Am7 Bbmaj7 Csus4, a soft
# sustained bass, and a sparse bell melody.
piece_start 64
calm_chords=(
	"41 57 60 64 65" # Fmaj7   (bass F2)
	"50 57 60 62 65" # Dm7     (bass D3)
	"46 58 62 65 69" # Bbmaj7  (bass Bb2)
	"48 55 60 64 67" # C       (bass C3)
	"41 57 60 64 65" # Fmaj7
	"45 57 60 64 67" # Am7     (bass A2)
	"46 58 62 65 69" # Bbmaj7
	"48 55 60 65 67" # Csus4
)
# Bell melody: "beat:midi" pairs per bar (MIDI 72 = C5).
calm_bells=(
	"0:77 2:76"
	"0:74 2.5:72"
	"0:70 2:74"
	"0:72 3:67"
	"0:77 2:79"
	"0:76 2.5:72"
	"0:74 2:77"
	"0:76 2:72"
)
for bar in "${!calm_chords[@]}"; do
	read -r bass p1 p2 p3 p4 <<<"${calm_chords[$bar]}"
	pad_chord "$bar" warm 0.12 "$p1" "$p2" "$p3" "$p4"
	note "$bar" 0 bass "$bass" 3.6 0.22
	for pair in ${calm_bells[$bar]}; do
		note "$bar" "${pair%%:*}" bell "${pair##*:}" 0.5 0.16
	done
done
piece_render music/calm.wav -8

echo "generate.sh: wrote $(find . -name '*.wav' | wc -l) files into $(pwd)"
