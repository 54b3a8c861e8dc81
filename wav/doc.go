// Package wav reads and writes RIFF WAVE files for the PBX: Decode turns
// whatever a user uploads (a prompt, hold music, a recording) into the
// 8 kHz mono 16-bit PCM the media path speaks, and Writer writes call
// recordings incrementally so that a file cut short by a crash still opens.
//
// Decode accepts PCM (8-bit unsigned, 16, 24 and 32-bit signed), 32-bit
// IEEE float, G.711 µ-law and A-law, plain or WAVE_FORMAT_EXTENSIBLE, one
// to eight channels, at any rate from 4 kHz to 192 kHz; it downmixes and
// resamples with a windowed-sinc low-pass so nothing above 4 kHz folds back
// into the band.
//
// wav sits on the bottom floor: it must never import another package of
// this project.
package wav
