// Package config holds the settings of every ingo component, each with its
// default, and loads them through viper from, highest first: command-line
// flags, INGO_* environment variables, a YAML file (--config FILE or
// INGO_CONFIG) and the defaults.
//
// Every key is listed once, with its default and help text, in keys.go; the
// typed structs in config.go mirror that list, and a test checks that they
// agree. The environment variable of a key is INGO_ followed by the key in
// upper case with dots and dashes turned into underscores: agent.slots is
// INGO_AGENT_SLOTS, backend.heartbeat-interval is
// INGO_BACKEND_HEARTBEAT_INTERVAL.
//
// Each Load uses its own viper instance, never viper's global one, so that
// tests and commands cannot leak settings into each other. Because viper
// only resolves environment variables for keys it already knows, every key
// gets a default and an explicit environment binding before anything is
// read. A key in a file that is not in the list is an error naming the key,
// so a typo never silently falls back to a default.
package config
