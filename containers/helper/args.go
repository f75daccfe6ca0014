package helper

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The commands parse their arguments the way Python's argparse does in
// INGInious, so that existing run files keep working: short flags may be
// grouped (-ae), values may be attached (-mTEXT, --message=TEXT), long
// options may be abbreviated (--app), options and positionals may be mixed
// (feedback-result success -i q1), "--" ends the options, and negative
// numbers are positionals. One deliberate leniency: an option's value may
// start with "-" (feedback-msg -m "-1 point").

// option is one flag of a command.
type option struct {
	short   byte   // 0: none
	long    string // without "--"
	value   bool   // takes a value
	metavar string
	help    string
}

// dest is the key under which an option is stored: its long name.
func (o option) dest() string { return o.long }

// command describes one multi-call command.
type command struct {
	name  string
	usage string // one line after the name, e.g. "[-a] [-i ID] [-m MSG]"
	desc  string
	opts  []option
	// pos are required positionals; rest, when not "", names a trailing
	// list of any length (argparse's nargs="*").
	pos  []string
	rest string
	run  func(env *cmdEnv, a *parsed) error
	// internal commands (run, install-links) get no link of their own.
	internal bool
	// raw commands get their arguments unparsed, in parsed.rest.
	raw bool
}

// parsed holds the parsed command line.
type parsed struct {
	vals  map[string]string
	flags map[string]bool
	pos   []string
	rest  []string
}

func (p *parsed) str(name string) string { return p.vals[name] }
func (p *parsed) set(name string) bool   { return p.flags[name] }

// errHelp asks for the help text, printed on stdout with exit status 0.
var errHelp = errors.New("help requested")

// usageError is a bad command line: exit status 2, as argparse.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

var negativeNumber = regexp.MustCompile(`^-\d+$|^-\d*\.\d+$`)

func (c *command) findLong(name string) (option, error) {
	var matches []option
	for _, o := range c.opts {
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return option{}, usagef("unrecognized arguments: --%s", name)
	default:
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = "--" + m.long
		}
		return option{}, usagef("ambiguous option: --%s could match %s", name, strings.Join(names, ", "))
	}
}

func (c *command) findShort(ch byte) (option, bool) {
	for _, o := range c.opts {
		if o.short == ch {
			return o, true
		}
	}
	return option{}, false
}

// looksPositional tells argparse's rule for what is not an option.
func looksPositional(arg string) bool {
	if !strings.HasPrefix(arg, "-") || arg == "-" {
		return true
	}
	if negativeNumber.MatchString(arg) {
		return true
	}
	// argparse: a dash-word with a space in it is a value, not an option.
	return strings.Contains(arg, " ") && !strings.HasPrefix(arg, "--")
}

// parse parses argv (without the command name).
func (c *command) parse(argv []string) (*parsed, error) {
	p := &parsed{vals: map[string]string{}, flags: map[string]bool{}}
	if c.raw {
		p.rest = argv
		return p, nil
	}
	var positionals []string
	onlyPos := false
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if onlyPos || looksPositional(arg) {
			positionals = append(positionals, arg)
			continue
		}
		if arg == "--" {
			onlyPos = true
			continue
		}
		// next takes the following argument as an option's value.
		next := func(flag string) (string, error) {
			if i+1 >= len(argv) {
				return "", usagef("argument %s: expected one argument", flag)
			}
			i++
			return argv[i], nil
		}
		if strings.HasPrefix(arg, "--") {
			name, val, hasVal := strings.Cut(arg[2:], "=")
			if name == "help" {
				return nil, errHelp
			}
			o, err := c.findLong(name)
			if err != nil {
				return nil, err
			}
			switch {
			case !o.value && hasVal:
				return nil, usagef("argument --%s: ignored explicit argument %q", o.long, val)
			case !o.value:
				p.flags[o.dest()] = true
			case hasVal:
				p.vals[o.dest()] = val
			default:
				v, err := next("--" + o.long)
				if err != nil {
					return nil, err
				}
				p.vals[o.dest()] = v
			}
			continue
		}
		// A group of short options: -ae, -mTEXT, -m=TEXT, -am TEXT.
		for j := 1; j < len(arg); j++ {
			ch := arg[j]
			if ch == 'h' {
				return nil, errHelp
			}
			o, ok := c.findShort(ch)
			if !ok {
				return nil, usagef("unrecognized arguments: %s", arg)
			}
			if !o.value {
				p.flags[o.dest()] = true
				continue
			}
			if attached := arg[j+1:]; attached != "" {
				p.vals[o.dest()] = strings.TrimPrefix(attached, "=")
			} else {
				v, err := next("-" + string(ch))
				if err != nil {
					return nil, err
				}
				p.vals[o.dest()] = v
			}
			break
		}
	}
	if len(positionals) < len(c.pos) {
		return nil, usagef("the following arguments are required: %s", strings.Join(c.pos[len(positionals):], ", "))
	}
	p.pos = positionals[:len(c.pos)]
	extra := positionals[len(c.pos):]
	if c.rest == "" && len(extra) > 0 {
		return nil, usagef("unrecognized arguments: %s", strings.Join(extra, " "))
	}
	p.rest = extra
	return p, nil
}

// helpText is what -h prints.
func (c *command) helpText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n\n%s\n", c.name, c.usage, c.desc)
	if len(c.opts) > 0 {
		b.WriteString("\noptions:\n  -h, --help\n")
		for _, o := range c.opts {
			flag := "--" + o.long
			if o.short != 0 {
				flag = "-" + string(o.short) + ", " + flag
			}
			if o.value {
				flag += " " + o.metavar
			}
			fmt.Fprintf(&b, "  %-28s %s\n", flag, o.help)
		}
	}
	return b.String()
}
