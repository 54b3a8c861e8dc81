package dialog

import (
	"fmt"

	"pbx/config"
	"pbx/media"
	"pbx/prompts"
)

// loadMusic starts one stream per hold-music class: the built-in ones,
// then the operator's, which may replace them.
func (e *Engine) loadMusic() error {
	e.musics = map[string]*media.Music{}
	e.musicPCM = map[string][]int16{}
	classes := map[string]string{"default": "", "calm": ""}
	for name, path := range e.opts.Music {
		classes[name] = path
	}
	e.silence = e.media.NewMusic("", make([]int16, media.FrameSamples))
	for name, path := range classes {
		var pcm []int16
		var err error
		if path == "" {
			pcm, err = prompts.BuiltinMusic(name)
		} else {
			pcm, err = prompts.LoadMusic(path)
		}
		if err != nil {
			e.closeMusic()
			return fmt.Errorf("hold music %q: %w", name, err)
		}
		e.musics[name] = e.media.NewMusic(name, pcm)
		e.musicPCM[name] = pcm
	}
	return nil
}

func (e *Engine) closeMusic() {
	for _, m := range e.musics {
		m.Close()
	}
	if e.silence != nil {
		e.silence.Close()
	}
}

// music is the stream of a class; an unknown class gets the default.
func (e *Engine) music(class string) *media.Music {
	if m, ok := e.musics[class]; ok {
		return m
	}
	return e.musics[config.DefaultMusicClass]
}

// userMusic is the class an extension hears when held.
func (e *Engine) userMusic(ext string) string {
	for _, u := range e.opts.Users {
		if u.Extension == ext && u.Music != "" {
			return u.Music
		}
	}
	return config.DefaultMusicClass
}

// musicClassOf is the class a new call's caller hears when held.
func (e *Engine) musicClassOf(who caller) string {
	if who.trunk != nil && who.trunk.cfg.Music != "" {
		return who.trunk.cfg.Music
	}
	return e.userMusic(who.user)
}

// player makes a player of prompts by name.
func (e *Engine) player(loop bool, names ...string) (*media.Player, error) {
	clips, err := e.prompts.LoadAll(names...)
	if err != nil {
		return nil, err
	}
	return media.NewPlayer(loop, clips...), nil
}

// musicOrSilence is the stream a parked leg hears: a class, or the shared
// silence stream for "".
func (e *Engine) musicOrSilence(class string) *media.Music {
	if class == "" {
		return e.silence
	}
	return e.music(class)
}
