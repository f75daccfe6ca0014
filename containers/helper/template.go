package helper

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// templateFields are the marker names parsetemplate knows and their texts:
// every input id, and for an uploaded file "id:filename" and "id:value"
// (its content) instead, as INGInious.
func templateFields(in *Input) (map[string]string, error) {
	fields := make(map[string]string, len(in.Input))
	for pid, raw := range in.Input {
		f, isFile, err := asFile(raw)
		switch {
		case isFile && err != nil:
			return nil, err
		case isFile:
			fields[pid+":filename"] = f.Filename
			fields[pid+":value"] = string(f.Content)
		default:
			fields[pid] = templateText(raw)
		}
	}
	return fields, nil
}

// parseTemplate replaces every marker @PREFIX@ID@SUFFIX@ (PREFIX and SUFFIX
// without '@', often empty: @@ID@@) by the text of input ID, each of its
// lines written as PREFIX+line+SUFFIX and joined by newlines. A prefix of
// spaces thus indents every line of a student's answer to where the marker
// stands. Lines are split as Python's str.splitlines does, so an empty
// answer removes the marker entirely.
//
// Unlike INGInious (which rescans the template once per input id), the
// template is scanned once and inserted texts are never scanned again, so
// an answer containing "@@other@@" stays as the student wrote it; and ids
// are matched literally ("a.b" does not match "axb").
func parseTemplate(template string, fields map[string]string) string {
	if len(fields) == 0 || !strings.Contains(template, "@") {
		return template
	}
	re := markerRegexp(fields)
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(template, -1) {
		prefix, id, suffix := template[m[2]:m[3]], template[m[4]:m[5]], template[m[6]:m[7]]
		b.WriteString(template[last:m[0]])
		for i, line := range splitLines(fields[id]) {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(prefix)
			b.WriteString(line)
			b.WriteString(suffix)
		}
		last = m[1]
	}
	b.WriteString(template[last:])
	return b.String()
}

// markerRegexp matches @PREFIX@ID@SUFFIX@ for the known ids; longer ids
// first, as Go's alternation is leftmost-first.
func markerRegexp(fields map[string]string) *regexp.Regexp {
	ids := make([]string, 0, len(fields))
	for id := range fields {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b))
	})
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = regexp.QuoteMeta(id)
	}
	return regexp.MustCompile(fmt.Sprintf(`@([^@]*)@(%s)@([^@]*)@`, strings.Join(quoted, "|")))
}

// splitLines is Python's str.splitlines(): the line boundaries are \n, \r,
// \r\n, \v, \f, \x1c, \x1d, \x1e, U+0085, U+2028 and U+2029; a final
// boundary does not start an empty line.
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i, r := range s {
		if i < start {
			continue // the \n of a \r\n
		}
		switch r {
		case '\n', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
			lines = append(lines, s[start:i])
			start = i + len(string(r))
		case '\r':
			lines = append(lines, s[start:i])
			start = i + 1
			if strings.HasPrefix(s[i+1:], "\n") {
				start++
			}
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}
