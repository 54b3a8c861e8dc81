// Package recordings writes call recordings and keeps their index: where
// each file goes (a path template under one directory), the WAV it holds
// (mono mix or caller-left/callee-right stereo, an optional beep, pauses
// and masks written as silence so the timeline stays true), the index
// entries in the store's "recordings" bucket, listing and download over
// HTTP, and retention by age and total size.
//
// The PBX's media clock hands every recording one 20 ms frame per tick
// through Recording.WriteFrame, which copies into a preallocated ring and
// returns: it never blocks on a disk and never allocates. One writer
// goroutine per Archive drains all rings into their files and fixes each
// file's header every SyncEvery, so a recording cut by a crash still
// opens, with at most that much audio lost.
//
// recordings may import pbx/wav and pbx/store only: never sip, dialog,
// media, server or config. The media layer calls in; the recorder does not
// reach out.
package recordings
