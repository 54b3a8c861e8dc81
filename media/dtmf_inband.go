package media

import (
	"math"
	"time"
)

// In-band DTMF detection parameters. All powers are mean powers in
// 16-bit units squared; levels in dBFS are per tone, relative to a
// full-scale sine (0 dBm0 is about -3.2 dBFS in G.711).
const (
	// dtmfBlock is the analysis window: 106 samples, 13.25 ms. Its bins
	// are 75.5 Hz apart, so with a rectangular window each row frequency
	// sits on (or very near) the first null of its neighbours (73-89 Hz
	// away) and the row is told apart cleanly; and it is short enough to
	// see a 50 ms press several times over.
	dtmfBlock = 106
	// dtmfHop is how far the window moves between analyses: half a block,
	// 6.6 ms, so presses and gaps are timed to a few milliseconds whatever
	// their alignment with the blocks.
	dtmfHop = dtmfBlock / 2

	// dtmfBeginBlocks consecutive windows showing one key begin a press:
	// they span 106+4·53 = 318 samples, 40 ms. A press of 50 ms always
	// holds at least five whole windows.
	dtmfBeginBlocks = 5
	// dtmfEndBlocks consecutive windows without the key end a press:
	// they span 40 ms too. A 40 ms gap holds four whole windows, and the
	// windows straddling its edges see a cut tone that fails the purity
	// checks, so two presses 40 ms apart are reported as two.
	dtmfEndBlocks = 5

	// dtmfFreqTol is the largest relative frequency error accepted:
	// ITU-T Q.24 asks that ±1.5% be accepted, and the nearest test tones
	// to a DTMF frequency beyond that are 1600 Hz (-2.0% from 1633) and
	// 1300 Hz (-2.7% from 1336). The check compares the power at the
	// nominal frequency with that at flanking probes twice dtmfFreqTol
	// away: a tone is nearer the nominal than a flank exactly when its
	// error is under dtmfFreqTol, whatever its level or the block length.
	dtmfFreqTol = 0.018

	// dtmfMinLevelDB is the weakest tone accepted, -33 dBFS: about -30
	// dBm0, 8 dB under the weakest the detector must find (-25 dBFS),
	// leaving room for the loss of a partial window.
	dtmfMinLevelDB = -33
	// dtmfNormalTwistDB is how much weaker the high (column) tone may be
	// than the low (row) one; lines lose more at high frequencies.
	dtmfNormalTwistDB = 8
	// dtmfReverseTwistDB is how much stronger the high tone may be:
	// keypads send the high tone a little stronger (about 2 dB) to make
	// up for the line; 6 dB leaves room and still rejects the lopsided
	// pairs that speech makes.
	dtmfReverseTwistDB = 6
	// dtmfPeerRatio: the strongest row (column) must have at least this
	// many times the power of every other row (column) in the
	// rectangular window, 6 dB. A pure tone 1.5% off its nominal beats
	// its nearest neighbour by 12 dB or more, but the other group's tone
	// leaks in too (-23 dB, more with twist), eating into that margin.
	dtmfPeerRatio = 4
	// dtmfMinShare is the share of the window's power the two tones must
	// carry: they are nearly all of a real key (above 0.9 even with the
	// worst twist and frequency error), while speech, music, noise and
	// chords of three or more tones spread their power wider.
	dtmfMinShare = 0.8
	// dtmfHarmonicRatio caps the power at twice the column frequency,
	// relative to the column tone (-12 dB): voiced speech and music are
	// rich in harmonics, a DTMF generator's output is not. Rows are not
	// checked: their second harmonics (1394-1882 Hz) lie too near the
	// columns to be measured in so short a window.
	dtmfHarmonicRatio = 0.063
)

// dtmfRows and dtmfCols are the DTMF frequencies; dtmfKeys[row][col] the
// keys they make.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// dtmfTables holds what the analysis precomputes once.
type dtmfTables struct {
	coeff    [8]float64 // Goertzel 2cos(w) of the rows then the columns
	rowCoeff [4]float64 // the rows' alone
	colCoeff [4]float64 // the columns' alone
	lo, hi   [8]float64 // of the flanking probes below and above
	harmonic [4]float64 // of the columns' second harmonics
	hann     [dtmfBlock]float64
	hannSum  float64 // Σw
	hannSq   float64 // Σw²
	minPower float64 // mean power of a sine at dtmfMinLevelDB
	normal   float64 // dtmfNormalTwistDB as a power ratio
	reverse  float64 // dtmfReverseTwistDB as a power ratio
}

var dtmfTab = newDTMFTables()

func newDTMFTables() *dtmfTables {
	t := &dtmfTables{}
	coeff := func(f float64) float64 { return 2 * math.Cos(2*math.Pi*f/ToneSampleRate) }
	for i := range 8 {
		f := dtmfRows[i%4]
		if i >= 4 {
			f = dtmfCols[i-4]
		}
		t.coeff[i] = coeff(f)
		t.lo[i] = coeff(f * (1 - 2*dtmfFreqTol))
		t.hi[i] = coeff(f * (1 + 2*dtmfFreqTol))
	}
	for i, f := range dtmfCols {
		t.harmonic[i] = coeff(2 * f)
	}
	copy(t.rowCoeff[:], t.coeff[:4])
	copy(t.colCoeff[:], t.coeff[4:])
	for i := range t.hann {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/dtmfBlock)
		t.hann[i] = w
		t.hannSum += w
		t.hannSq += w * w
	}
	amp := 32767 * math.Pow(10, dtmfMinLevelDB/20.0)
	t.minPower = amp * amp / 2
	t.normal = math.Pow(10, dtmfNormalTwistDB/10.0)
	t.reverse = math.Pow(10, dtmfReverseTwistDB/10.0)
	return t
}

// goertzel4 is |X(w)|² of x at the four frequencies whose 2cos(w) are
// in c. Four filters in one pass keep their state in registers and run
// in parallel.
func goertzel4[T int16 | float64](x []T, c *[4]float64) [4]float64 {
	c0, c1, c2, c3 := c[0], c[1], c[2], c[3]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for _, v := range x {
		f := float64(v)
		a0, b0 = f+c0*a0-b0, a0
		a1, b1 = f+c1*a1-b1, a1
		a2, b2 = f+c2*a2-b2, a2
		a3, b3 = f+c3*a3-b3, a3
	}
	return [4]float64{
		a0*a0 + b0*b0 - c0*a0*b0,
		a1*a1 + b1*b1 - c1*a1*b1,
		a2*a2 + b2*b2 - c2*a2*b2,
		a3*a3 + b3*b3 - c3*a3*b3,
	}
}

// dtmfEvent is an event waiting to be reported.
type dtmfEvent struct {
	begin bool
	d     Digit
}

// dtmfPending is how many events can wait to be reported; more than one
// or two only pile up when a single Frame carries a long stretch of audio.
const dtmfPending = 8

// InbandDetector finds DTMF keys in 8 kHz 16-bit PCM, for far ends that
// negotiated no telephone-event.
//
// It analyses 106-sample (13.25 ms) windows every 53 samples. A window
// shows a key when, by Goertzel filters at the eight DTMF frequencies:
// one row and one column stand 6 dB above the other rows and columns
// (rectangular window); each of the two tones is within ±1.8% of its
// nominal frequency, above -33 dBFS, with at most 8 dB normal and 6 dB
// reverse twist; the two carry at least 80% of the window's power; and
// the column's second harmonic is 12 dB below it (those four on a Hann
// window, which keeps the other tone out). A key seen in consecutive
// windows spanning 40 ms begins a press, windows without it spanning
// 40 ms end it: see the dtmf constants for why each value.
//
// The zero value is ready to use, as is NewInbandDetector's. It is not
// safe for concurrent use; it does not allocate.
type InbandDetector struct {
	buf [dtmfBlock]int16
	n   int // samples in buf
	win [dtmfBlock]float64

	pos uint64 // samples analysed before buf[0]

	cand      rune // key of the latest windows, 0 for none
	candCount int
	candStart uint64 // position of the first window that showed cand

	cur     rune // key of the press in progress, 0 for none
	silent  bool // cur was not reported (no room), so neither is its end
	misses  int
	lastHit uint64 // end position of the last window showing cur
	start   uint64 // start position of the press

	queue [dtmfPending]dtmfEvent
	qHead int
	qLen  int
}

// NewInbandDetector returns a detector ready for a new stream.
func NewInbandDetector() *InbandDetector {
	d := &InbandDetector{}
	d.Reset()
	return d
}

// Reset forgets all audio, any press in progress (without reporting its
// end) and any event not yet reported, as for a new stream.
func (d *InbandDetector) Reset() {
	*d = InbandDetector{}
}

// Frame takes the next samples (normally 160 = 20 ms; any length works,
// they are buffered into analysis windows) and reports a press beginning
// and/or ending, as EventReceiver does. Events are reported in order;
// should one call hold more than fits in one EventResult (possible only
// with frames much longer than 40 ms), the rest wait for the next call.
// Frames so long that they hold four presses or more may lose presses:
// up to 8 events wait, and a press that finds no room is dropped whole,
// never half reported.
func (d *InbandDetector) Frame(pcm []int16) EventResult {
	for len(pcm) > 0 {
		k := copy(d.buf[d.n:], pcm)
		d.n += k
		pcm = pcm[k:]
		if d.n < dtmfBlock {
			break
		}
		d.step(d.analyse())
		copy(d.buf[:], d.buf[dtmfHop:])
		d.n -= dtmfHop
		d.pos += dtmfHop
	}
	var res EventResult
	for d.qLen > 0 {
		e := d.queue[d.qHead]
		var ok bool
		if e.begin {
			ok = res.addBegin(e.d.Key)
		} else {
			ok = res.addEnd(e.d)
		}
		if !ok {
			break
		}
		d.qHead = (d.qHead + 1) % dtmfPending
		d.qLen--
	}
	return res
}

// push queues an event; step makes sure there is room.
func (d *InbandDetector) push(e dtmfEvent) {
	d.queue[(d.qHead+d.qLen)%dtmfPending] = e
	d.qLen++
}

// step advances the press state by one window that showed key (0: none).
func (d *InbandDetector) step(key rune) {
	end := d.pos + dtmfBlock
	if key != 0 && key == d.cand {
		d.candCount++
	} else {
		d.cand, d.candCount, d.candStart = key, 1, d.pos
	}
	if d.cur != 0 {
		if key == d.cur {
			d.misses = 0
			d.lastHit = end
		} else if d.misses++; d.misses >= dtmfEndBlocks {
			if !d.silent {
				dur := samplesDuration(d.lastHit - d.start)
				d.push(dtmfEvent{d: Digit{Key: d.cur, Duration: dur}})
			}
			d.cur = 0
		}
	}
	if d.cur == 0 && d.cand != 0 && d.candCount >= dtmfBeginBlocks {
		d.cur, d.misses, d.start, d.lastHit = d.cand, 0, d.candStart, end
		// Room for the begin and, later, its end; else skip the press
		// whole rather than report half of it.
		d.silent = d.qLen > dtmfPending-2
		if !d.silent {
			d.push(dtmfEvent{begin: true, d: Digit{Key: d.cur}})
		}
	}
}

// analyse returns the key that the window in buf shows, or 0.
func (d *InbandDetector) analyse() rune {
	t := dtmfTab
	x := &d.buf
	var total float64
	for _, v := range x {
		total += float64(v) * float64(v)
	}
	if total/dtmfBlock < t.minPower {
		return 0
	}

	// Rectangular window: which row and column, and are they alone?
	rows := goertzel4(x[:], &t.rowCoeff)
	cols := goertzel4(x[:], &t.colCoeff)
	row, col := strongest(rows[:]), strongest(cols[:])
	for i := range 4 {
		if i != row && rows[i]*dtmfPeerRatio > rows[row] {
			return 0
		}
		if i != col && cols[i]*dtmfPeerRatio > cols[col] {
			return 0
		}
	}

	// Hann window: level, twist, share, frequency and harmonic checks.
	w := &d.win
	var totalW float64
	for i, v := range x {
		w[i] = float64(v) * t.hann[i]
		totalW += w[i] * w[i]
	}
	meanW := totalW / t.hannSq
	a := goertzel4(w[:], &[4]float64{t.coeff[row], t.coeff[4+col], t.harmonic[col], t.lo[row]})
	b := goertzel4(w[:], &[4]float64{t.hi[row], t.lo[4+col], t.hi[4+col]})
	pr, pc := a[0], a[1]
	norm := 2 / (t.hannSum * t.hannSum) // |X|² to a tone's mean power
	lr, lc := pr*norm, pc*norm
	switch {
	case lr < t.minPower || lc < t.minPower:
		return 0
	case lr > lc*t.normal || lc > lr*t.reverse:
		return 0
	case lr+lc < dtmfMinShare*meanW:
		return 0
	case a[3] > pr || b[0] > pr || b[1] > pc || b[2] > pc:
		return 0 // nearer a flank than the nominal frequency
	case a[2] > dtmfHarmonicRatio*pc:
		return 0
	}
	return dtmfKeys[row][col]
}

// strongest is the index of the largest of p.
func strongest(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// samplesDuration is the duration of n samples at ToneSampleRate.
func samplesDuration(n uint64) time.Duration {
	return time.Duration(n) * time.Second / ToneSampleRate
}
