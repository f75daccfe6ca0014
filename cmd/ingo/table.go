package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ingo-grader/ingo/internal/termsafe"
)

// table writes rows as aligned columns.
type table struct {
	tw  *tabwriter.Writer
	err error
}

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

// row writes one row. Cells are mostly names from elsewhere (termsafe.Line):
// a tab or a newline would break the columns, so they become spaces.
func (t *table) row(cells ...string) {
	if t.err != nil {
		return
	}
	for i, c := range cells {
		cells[i] = termsafe.Line(c)
	}
	_, t.err = fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}

// ago says how long before now a Unix-milliseconds time was, for tables.
func ago(now time.Time, unixMilli int64) string {
	if unixMilli <= 0 {
		return "-"
	}
	d := now.Sub(time.UnixMilli(unixMilli))
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
}

// seconds prints a time limit, or "-" for none (INGInious' -1).
func seconds(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%gs", v)
}

// orDash is s, or "-" for an empty cell (a job without a task).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
