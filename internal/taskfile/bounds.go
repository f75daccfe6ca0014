package taskfile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Bounds of a task.yaml. Task folders come from anyone holding a frontend
// token of the HTTP API, and the YAML decoder checks a mapping's keys for
// duplicates pair by pair: a task.yaml of 5 MB holding one mapping of
// 500,000 keys took it over ten minutes of CPU, and a flow list of 10 MB
// 1.3 GB of allocations. INGInious' task.yaml files are a few KB (a long
// statement, tens); the bounds leave them a hundred times that.
const (
	// MaxBytes bounds the size of a task.yaml.
	MaxBytes = 1 << 20
	// MaxMappingKeys bounds the keys of one mapping (the problems, a
	// problem's fields, a choice's...). Under it, decoding costs at most
	// MaxMappingKeys comparisons per key of the file.
	MaxMappingKeys = 1000
)

// ErrTooLarge is wrapped when a task.yaml is over its bounds.
var ErrTooLarge = errors.New("task.yaml over its bounds")

// readTaskYAML reads path, refusing it unread over MaxBytes.
func readTaskYAML(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, tooLarge()
	}
	return data, nil
}

func tooLarge() error {
	return fmt.Errorf("%w: it is over %d KiB (INGInious' task files are a few KB)", ErrTooLarge, MaxBytes>>10)
}

// checkBounds parses data into doc (linear in its size: nodes, aliases
// not expanded) and refuses it over MaxBytes or with a mapping of more
// than MaxMappingKeys keys, before anything decodes it into maps.
func checkBounds(data []byte, doc *yaml.Node) error {
	if len(data) > MaxBytes {
		return tooLarge()
	}
	if err := yaml.Unmarshal(data, doc); err != nil {
		return fmt.Errorf("not a valid task.yaml: %w", err)
	}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxMappingKeys {
			return fmt.Errorf("%w: line %d has a mapping of %d keys, more than %d", ErrTooLarge, n.Line, len(n.Content)/2, MaxMappingKeys)
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(doc)
}
