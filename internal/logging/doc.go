// Package logging builds the slog logger of every ingo command from the
// log.level and log.format settings. Logs go to stderr, so that stdout stays
// free for what a command prints on purpose (results, tables, JSON).
package logging
