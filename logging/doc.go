// Package logging makes the PBX's loggers: one log/slog logger per package,
// each at its own level (log.level and log.packages of pbx.yaml), all
// writing text or JSON to one writer.
//
// It sits at the bottom, below every floor: it imports nothing of this
// module, so any package may be handed one of its loggers.
package logging
