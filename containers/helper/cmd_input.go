package helper

import (
	"errors"
	"fmt"
)

func init() {
	register(&command{
		name: "getinput", usage: "ID[:filename]",
		desc: "print a student's answer (a list as JSON; an uploaded file's content, or its name with :filename)",
		pos:  []string{"problem"},
		run: func(e *cmdEnv, a *parsed) error {
			in, err := loadInput(e.paths.Input)
			if err != nil {
				return exitWith(exitUsage, err)
			}
			out, err := getInput(in, a.pos[0])
			if errors.Is(err, errNoInput) {
				return exitWith(exitFailure, err)
			}
			if err != nil {
				return exitWith(exitUsage, err)
			}
			_, err = e.stdout.Write(out)
			return err
		},
	})
	register(&command{
		name: "parsetemplate", usage: "[-o OUTPUT] TEMPLATE",
		desc: "put the student's answers into a template (@@id@@, or @PREFIX@id@SUFFIX@ per line)",
		opts: []option{{short: 'o', long: "output", value: true, metavar: "OUTPUT", help: "output file (default: overwrite TEMPLATE)"}},
		pos:  []string{"input"},
		run: func(e *cmdEnv, a *parsed) error {
			src, dst := a.pos[0], a.str("output")
			if dst == "" {
				dst = src
			}
			tpl, err := e.paths.readFile(src)
			if err != nil {
				return exitWith(exitUsage, fmt.Errorf("reading the template: %w", err))
			}
			in, err := loadInput(e.paths.Input)
			if err != nil {
				return exitWith(exitUsage, err)
			}
			fields, err := templateFields(in)
			if err != nil {
				return exitWith(exitUsage, err)
			}
			out := parseTemplate(string(tpl), fields)
			if err := e.paths.writeFile(dst, []byte(out), 0o644); err != nil {
				return exitWith(exitUsage, fmt.Errorf("writing the output: %w", err))
			}
			return nil
		},
	})
}
