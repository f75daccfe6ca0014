// Package termsafe makes text written by others safe to show on a
// terminal. Much of what ingo prints or logs was written by someone else:
// feedback and output that student code fills, course, task and user
// names a web app chose, error texts with those names in them. A terminal
// obeys the control sequences in what it is given: a student's program
// that prints ESC ] 52 sets the clipboard of the teacher who reads its
// result (pasted into a shell next), others retitle the window, clear the
// screen or move the cursor up to overwrite the lines above ("status:
// failed"), and bidirectional controls reorder what a reader sees.
//
// Line and Block make every such character visible as an escape instead
// ("\x1b", "\r", "\u009b", "\u202e"); JSON does the same for the ones
// encoding/json leaves as they are (DEL, C1, the bidirectional controls),
// and Writer for a stream of JSON records (log/slog's JSON handler; its
// text handler quotes them itself). Backslashes stay as they are: feedback
// is full of them (LaTeX, paths), and a reader tells an escape of ours
// from one a student wrote by its context.
package termsafe
