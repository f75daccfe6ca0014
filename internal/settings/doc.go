// Package settings reads the declaration of a component's settings from its
// configuration struct, so that each setting is declared once: the field
// (its Go type), its key and help text (struct tags), its default (the
// component's DefaultConfig) and its bounds (a check tag). The config
// loader (internal/config) documents, decodes and checks keys from this
// description; components call Check on the configs they are given.
//
// Tags on an exported field of a configuration struct:
//
//	key:"heartbeat-interval"  the key's last element ("-": not a setting)
//	key:",inline"             an embedded struct whose keys join this level
//	help:"..."                what the key means, for docs and --help
//	unit:"bytes"              an int64 of bytes, written "64MiB" or 1048576
//	check:"positive"          bounds, comma-separated (see Check)
//
// A field of struct type other than time.Duration is a section: its fields
// are keys under "key.", and its help, when given, leads theirs. Every
// exported field must say what it is (a key, "-" or inline): Fields fails on
// one that does not, so a new field cannot be forgotten by the loader.
//
// Supported types: string, bool, int, int64, float64, time.Duration,
// []string (a list, or comma-separated text) and map[string]string
// (a list of "name=value"). This package imports only the standard library
// and messages (for subject tokens), so any component may use it.
package settings
