//go:build race

package helper

// raceEnabled makes TestMain build the helper binary with -race too, so
// that the end-to-end tests check the helper's own goroutines.
const raceEnabled = true
