package prompts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"pbx/wav"
)

// writeWAV writes n samples of value v as an 8 kHz mono WAV.
func writeWAV(t *testing.T, p string, v int16, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wav.NewWriter(f, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorPromptsComeFirst(t *testing.T) {
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "welcome.wav"), 1234, 800)
	writeWAV(t, filepath.Join(dir, "digits", "3.wav"), 77, 160)
	l := New(dir)
	for _, tt := range []struct {
		name  string
		first int16
		n     int
	}{{"welcome", 1234, 800}, {"digits/3", 77, 160}} {
		pcm, err := l.Load(tt.name)
		if err != nil || len(pcm) != tt.n || pcm[0] != tt.first {
			t.Fatalf("%s: %d samples, first %v, err %v", tt.name, len(pcm), pcm, err)
		}
	}
	// Not in the directory: the built-in one.
	if pcm, err := l.Load("goodbye"); err != nil || len(pcm) < 1600 {
		t.Fatalf("goodbye: %d samples, %v", len(pcm), err)
	}
	if _, err := l.Load("no-such-prompt"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unknown prompt: %v", err)
	}
}

func TestBadNames(t *testing.T) {
	l := New(t.TempDir())
	for _, n := range []string{"", "../etc/passwd", "/abs", "a//b", "a/./b", "a b", "x/.."} {
		if _, err := l.Load(n); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v, want ErrBadName", n, err)
		}
	}
}

func TestLoadMusic(t *testing.T) {
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "b.wav"), 2, 100)
	writeWAV(t, filepath.Join(dir, "a.wav"), 1, 100)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	pcm, err := LoadMusic(dir)
	if err != nil || len(pcm) != 200 || pcm[0] != 1 || pcm[199] != 2 {
		t.Fatalf("%d samples, err %v", len(pcm), err)
	}
	if pcm, err := LoadMusic(filepath.Join(dir, "b.wav")); err != nil || len(pcm) != 100 {
		t.Fatalf("one file: %d, %v", len(pcm), err)
	}
	if _, err := LoadMusic(t.TempDir()); err == nil {
		t.Fatal("an empty directory is music")
	}
	for _, class := range []string{"default", "calm"} {
		if pcm, err := BuiltinMusic(class); err != nil || len(pcm) < 30*8000 {
			t.Fatalf("%s: %d samples, %v", class, len(pcm), err)
		}
	}
}
