// Package config loads a program's settings through viper from, highest
// first: command-line flags, INGO_* environment variables, a YAML file
// (--config FILE or INGO_CONFIG) and the defaults.
//
// It declares no setting itself. A Schema is built over a struct of the
// components' own configuration structs (cmd/ingo's settings), whose tags
// give each key's name and help and whose bounds are checked (package
// settings), and whose defaults are the components' DefaultConfig. So a
// setting is declared once, beside the code that uses it, and the keys,
// their documentation, flags, variables and file checks all follow from
// that declaration.
//
// The environment variable of a key is INGO_ followed by the key in upper
// case with dots and dashes turned into underscores: agent.slots is
// INGO_AGENT_SLOTS, backend.heartbeat-interval is
// INGO_BACKEND_HEARTBEAT_INTERVAL; an empty variable sets nothing.
//
// Each Load uses its own viper instance, never viper's global one, so that
// tests and commands cannot leak settings into each other. Because viper
// only resolves environment variables for keys it already knows, every key
// gets an explicit environment binding before anything is read. A key in a
// file that is not a setting is an error naming the key (and the closest
// key, for a typo), so a typo never silently falls back to a default.
package config
