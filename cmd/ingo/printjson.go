package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ingo-grader/ingo/internal/termsafe"
)

// Much of what the CLI prints was written by someone else (feedback and
// output that student code fills, names a web app chose, error texts with
// those names in them), and a terminal obeys the control sequences in it
// (package termsafe). Such text is printed through termsafe.Line or
// termsafe.Block, and JSON through printJSON or printJSONLine, never
// through an encoder of its own.

// printJSON writes v as indented JSON followed by a newline.
func printJSON(w io.Writer, v any) error { return writeJSON(w, v, "  ") }

// printJSONLine writes v as JSON on one line, for streams of snapshots.
func printJSONLine(w io.Writer, v any) error { return writeJSON(w, v, "") }

func writeJSON(w io.Writer, v any, indent string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", indent)
	// Feedback is often HTML or RST: keep <, > and & readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	if _, err := w.Write(termsafe.JSON(b.Bytes())); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
