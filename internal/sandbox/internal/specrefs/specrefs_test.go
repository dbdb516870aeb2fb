package specrefs

import (
	"reflect"
	"testing"
)

func TestClosureFollowsRefsTransitively(t *testing.T) {
	doc := map[string]any{"components": map[string]any{"schemas": map[string]any{
		"A":      map[string]any{"properties": map[string]any{"b": map[string]any{"$ref": "#/components/schemas/B"}}},
		"B":      map[string]any{"items": []any{map[string]any{"$ref": "#/components/schemas/C"}}},
		"C":      map[string]any{"type": "string"},
		"Unused": map[string]any{"type": "integer"},
	}}}
	root := map[string]any{"requestBody": map[string]any{"$ref": "#/components/schemas/A"}}
	got, err := Closure(doc, root, "#/components/schemas/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A", "B", "C"}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	if len(names) != 3 || got["Unused"] != nil {
		t.Fatalf("kept %v, want %v", names, want)
	}
	if kinds, err := Closure(doc, root, "#/components/"); err != nil || !reflect.DeepEqual(kinds["schemas/C"], map[string]any{"type": "string"}) {
		t.Errorf("by kind/name: %v, %v", kinds, err)
	}
	if _, err := Closure(doc, map[string]any{"$ref": "#/components/schemas/Missing"}, "#/components/schemas/"); err == nil {
		t.Error("a $ref to nothing kept silently")
	}
	if _, err := Closure(doc, map[string]any{"$ref": "#/definitions/A"}, "#/components/schemas/"); err == nil {
		t.Error("a $ref under another prefix kept silently")
	}
}
