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
	// MaxIndicators bounds a task.yaml's ',', ':', '-', '?', '[' and '{',
	// counted anywhere in its bytes (in quotes, statements and comments
	// too) before it is parsed: no more than three YAML nodes come with
	// each (see nodesBound). The parser builds every node for a few
	// hundred bytes, so MaxBytes alone let 1 MB of "0," (1.2 KB as the
	// .tar.gz of a task uploaded to the HTTP API) take 140 MB, and a dozen
	// such uploads at once took the API 1.5 GB. Under it a task.yaml costs
	// at most some tens of MB to parse; real ones hold a few thousand.
	MaxIndicators = 1 << 15
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
	if n := indicators(data, MaxIndicators); n > MaxIndicators {
		return fmt.Errorf("%w: it holds more than %d of the characters , : - ? [ { that make YAML values (INGInious' task files hold a few thousand)", ErrTooLarge, MaxIndicators)
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
	if err := walk(doc); err != nil {
		return err
	}
	if n := expanded(doc, map[*yaml.Node]int{}); n > maxExpanded {
		return fmt.Errorf("%w: its aliases expand it to more than %d values", ErrTooLarge, maxExpanded)
	}
	return nil
}

// maxExpanded bounds the nodes a task.yaml decodes to, its aliases
// expanded: what its bytes could hold without aliases (MaxIndicators).
// The YAML decoder's own bound on aliasing lets a document decode to
// ten times its nodes and more (it gives up at a ratio of aliases, past
// 400,000 values), which for a task.yaml within MaxIndicators was 30 MB.
const maxExpanded = 3*MaxIndicators + 2

// expanded counts the nodes n decodes to, an alias as what it stands for,
// up to past maxExpanded; memo holds those counted (-1 while counting,
// so that an alias within its own anchor counts as over the bound: the
// decoder refuses it anyway).
func expanded(n *yaml.Node, memo map[*yaml.Node]int) int {
	if c, ok := memo[n]; ok {
		if c < 0 {
			return maxExpanded + 1
		}
		return c
	}
	memo[n] = -1
	c := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		c = expanded(n.Alias, memo)
	}
	for _, e := range n.Content {
		if c += expanded(e, memo); c > maxExpanded {
			break
		}
	}
	c = min(c, maxExpanded+1)
	memo[n] = c
	return c
}

// indicators counts the bytes of data that may begin or separate a YAML
// node (',', ':', '-', '?', '[' and '{'), wherever they are, up to max+1.
// Every node past the document's first needs one of them: a flow
// collection's items are separated by commas and begin with a bracket, a
// block sequence's with '-', a mapping's entries hold a ':' (or '?', or
// a comma or brace in flow), and each of these brings at most three
// nodes (a block mapping, its key and its value). So the parser builds
// at most 3*indicators+2 nodes: counting them bounds its memory before
// it runs, where counting its nodes would come after.
func indicators(data []byte, max int) int {
	n := 0
	for _, c := range data {
		switch c {
		case ',', ':', '-', '?', '[', '{':
			if n++; n > max {
				return n
			}
		}
	}
	return n
}
