// Package specrefs finds what a trimmed copy of an OpenAPI or Swagger
// document must keep besides the operations it keeps: everything they
// $ref, transitively. The sandbox's spec trimmers (trimspec, trimadyen,
// trimgenesys) share it.
package specrefs

import (
	"fmt"
	"sort"
	"strings"
)

// Closure returns what the $refs under prefix in root point at in doc,
// and what those $ref in turn, keyed by the ref's path after prefix:
// "Amount" under "#/components/schemas/", "schemas/Amount" under
// "#/components/". A $ref under another prefix, or to nothing, is an
// error: the copy would not validate what the original does.
func Closure(doc map[string]any, root any, prefix string) (map[string]any, error) {
	kept := map[string]any{}
	queue, err := Refs(root, prefix)
	if err != nil {
		return nil, err
	}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if _, done := kept[ref]; done {
			continue
		}
		v, ok := lookup(doc, strings.TrimPrefix(prefix, "#/")+ref)
		if !ok {
			return nil, fmt.Errorf("spec has no %s%s", prefix, ref)
		}
		kept[ref] = v
		more, err := Refs(v, prefix)
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	return kept, nil
}

// Refs lists the refs under prefix that v holds, by their path after
// prefix, sorted.
func Refs(v any, prefix string) ([]string, error) {
	set := map[string]bool{}
	var bad error
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if r, ok := t["$ref"].(string); ok {
				if !strings.HasPrefix(r, prefix) {
					bad = fmt.Errorf("unexpected $ref %s", r)
				}
				set[strings.TrimPrefix(r, prefix)] = true
			}
			for _, c := range t {
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(v)
	if bad != nil {
		return nil, bad
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// lookup follows a JSON pointer's path ("components/schemas/Amount")
// from doc.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, seg := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}
