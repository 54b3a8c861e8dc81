package dialog

// RecordingOf is the id of the recording of the bridge a leg is in, so
// that a program that started it by leg can pause or stop it by leg.
func (e *Engine) RecordingOf(legID string) (string, bool) {
	l, err := e.liveLeg("recording of", legID)
	if err != nil {
		return "", false
	}
	b := l.currentBridge()
	if b == nil {
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec == nil {
		return "", false
	}
	return b.rec.rec.ID(), true
}
