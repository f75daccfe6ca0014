package helper

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The rst-* commands print reStructuredText blocks exactly as INGInious'
// do (then a newline, as Python's print), to be piped into feedback-msg -a.

func codeBlock(lang, text string) string {
	var b strings.Builder
	b.WriteString("\n\n.. code-block:: " + lang + "\n\n")
	for _, l := range splitLines(text) {
		b.WriteString("\t" + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func admonition(class, title, text string) string {
	switch class {
	case "info", "danger", "warning", "success":
	default:
		class = "info"
	}
	var b strings.Builder
	if title != "" {
		b.WriteString("\n\n.. admonition:: " + title + "\n")
	} else {
		b.WriteString("\n\n.. note:: \n")
	}
	b.WriteString("\t:class: alert alert-" + class + "\n\n")
	for _, l := range splitLines(text) {
		b.WriteString("\t" + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// indentBlock indents every line by amount indent strings; a negative
// amount removes indent characters among the first -amount characters of
// each line (INGInious' rule, character by character).
func indentBlock(amount int, text, indent string) string {
	var b strings.Builder
	for _, l := range splitLines(text) {
		if amount > 0 {
			b.WriteString(strings.Repeat(indent, amount) + l + "\n")
			continue
		}
		for i, r := range []rune(l) {
			if string(r) != indent || i+1 > -amount {
				b.WriteRune(r)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func imageBlock(p Paths, file, format string) (string, error) {
	data, err := p.readFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the image: %w", err)
	}
	if format == "" {
		format = strings.TrimPrefix(filepath.Ext(file), ".")
	}
	return "\n\n.. raw:: html\n\n\t<img src=\"data:image/" + format + ";base64," +
		base64.StdEncoding.EncodeToString(data) + "\">\n", nil
}

func init() {
	register(&command{
		name: "rst-code", usage: "[-l LANGUAGE] [-e] [-c CODE]",
		desc: "print a reStructuredText code block (code from -c or stdin)",
		opts: []option{
			{short: 'l', long: "language", value: true, metavar: "LANGUAGE", help: "language, for highlighting"},
			optEscape,
			{short: 'c', long: "code", value: true, metavar: "CODE", help: "the code (default: read stdin)"},
		},
		run: func(e *cmdEnv, a *parsed) error {
			code, err := e.readMessage(a.str("code"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, codeBlock(a.str("language"), maybeUnescape(code, a.set("escape"))))
			return err
		},
	})
	register(&command{
		name: "rst-msgblock", usage: "[-c CLASS] [-e] [-t TITLE] [-m MSG]",
		desc: "print a reStructuredText message box (success, info, warning, danger)",
		opts: []option{
			{short: 'c', long: "class", value: true, metavar: "CLASS", help: "success, info, warning or danger"},
			optEscape,
			{short: 't', long: "title", value: true, metavar: "TITLE", help: "title of the box"},
			optMessage,
		},
		run: func(e *cmdEnv, a *parsed) error {
			msg, err := e.readMessage(a.str("message"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, admonition(a.str("class"), a.str("title"), maybeUnescape(msg, a.set("escape"))))
			return err
		},
	})
	register(&command{
		name: "rst-indent", usage: "[-e] [-c CHAR] [-a AMOUNT] [-m MSG]",
		desc: "print a text indented (or de-indented with a negative amount)",
		opts: []option{
			optEscape,
			{short: 'c', long: "indent-char", value: true, metavar: "CHAR", help: "indentation (default: a tab)"},
			{short: 'a', long: "amount", value: true, metavar: "AMOUNT", help: "levels of indentation (default 1)"},
			optMessage,
		},
		run: func(e *cmdEnv, a *parsed) error {
			amount := 1
			if s, ok := a.vals["amount"]; ok {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil {
					return usagef("argument -a/--amount: invalid int value: %q", s)
				}
				amount = n
			}
			indent := "\t"
			if c, ok := a.vals["indent-char"]; ok {
				indent = c
			}
			msg, err := e.readMessage(a.str("message"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, indentBlock(amount, maybeUnescape(msg, a.set("escape")), indent))
			return err
		},
	})
	register(&command{
		name: "rst-image", usage: "[-f FORMAT] FILE",
		desc: "print a reStructuredText block showing an image inline",
		opts: []option{{short: 'f', long: "format", value: true, metavar: "FORMAT", help: "image format (default: the file's extension)"}},
		pos:  []string{"filename"},
		run: func(e *cmdEnv, a *parsed) error {
			s, err := imageBlock(e.paths, a.pos[0], a.str("format"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, s)
			return err
		},
	})
}
