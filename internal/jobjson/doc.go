// Package jobjson holds the JSON forms of jobs that the CLI (`ingo submit
// --json`) and the HTTP API share, so that a result reads the same
// whichever way a frontend got it (DESIGN.md §6 and §7).
package jobjson
