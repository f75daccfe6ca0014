package taskfile

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// The checkers walk yaml.Node trees rather than decoded maps: nodes know
// their line, which every finding wants.

// pair is one key: value of a YAML mapping.
type pair struct {
	key   string
	kn, v *yaml.Node
}

// pairs lists a mapping's entries in file order; nil for anything else.
func pairs(n *yaml.Node) []pair {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{key: n.Content[i].Value, kn: n.Content[i], v: n.Content[i+1]})
	}
	return out
}

// get is a mapping's value for key, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.v
		}
	}
	return nil
}

// deref follows aliases and documents to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

// isMap says whether n is a mapping; isNull whether it is absent or null.
func isMap(n *yaml.Node) bool { n = deref(n); return n != nil && n.Kind == yaml.MappingNode }

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// value decodes a node as PyYAML would hand it to INGInious: any.
func value(n *yaml.Node) any {
	if isNull(n) {
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Sprint(n.Value)
	}
	return v
}

// line is n's line, 0 for none.
func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// duplicates reports keys given twice in any mapping under n: PyYAML
// keeps the last silently, which hides an edit.
func duplicates(f findings, n *yaml.Node, path string) {
	// An alias repeats a checked mapping; following it could also blow
	// up (the "billion laughs" file).
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n = deref(n); n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for _, p := range pairs(n) {
			if first, dup := seen[p.key]; dup {
				f.add(SevError, p.kn.Line, "key %s given twice (first at line %d); INGInious keeps the last one", path+p.key, first)
			} else {
				seen[p.key] = p.kn.Line
			}
			duplicates(f, p.v, path+p.key+".")
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			duplicates(f, c, path)
		}
	}
}

// keepLast drops the earlier pairs of keys given twice in any mapping
// under n, the last value taking the first one's place, as PyYAML builds
// INGInious' OrderedDict (construct_pairs): INGInious grades a task.yaml
// with a key given twice, and public courses have some, where yaml.v3
// would refuse to decode it. ingo task check still reports them
// (duplicates). Aliases are not followed: the mapping an alias names is
// handled where it stands; merge keys (<<) are left to the decoder.
func keepLast(n *yaml.Node) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n.Kind != yaml.MappingNode {
		for _, c := range n.Content {
			keepLast(c)
		}
		return
	}
	at := map[string]int{} // key -> index of its pair in out
	out := make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		keepLast(v)
		if k.Kind == yaml.ScalarNode && k.Value != "<<" {
			if j, dup := at[k.Value]; dup {
				out[j+1] = v
				continue
			}
			at[k.Value] = len(out)
		}
		out = append(out, k, v)
	}
	n.Content = out
}
