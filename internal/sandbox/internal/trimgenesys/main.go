// Command trimgenesys writes the part of a Genesys Cloud Swagger 2.0 spec
// the project validates against: the named operations, untouched, and
// the definitions they $ref, transitively. Responses are kept only as a
// bare 200: the sandbox validates requests, and the response schemas pull
// in most of the spec.
//
//	go run ./internal/sandbox/internal/trimgenesys platform \
//	  ../shared/specs/genesys-platform-subset.swagger2.json \
//	  > internal/sandbox/testdata/genesys-platform-trimmed.swagger2.json
//	go run ./internal/sandbox/internal/trimgenesys integrations \
//	  ../shared/specs/genesys-integrations.swagger2.yml \
//	  > internal/sandbox/testdata/genesys-integrations-trimmed.swagger2.json
//
// The sources and their commit are in internal/sandbox/testdata/README.md.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/refundflow/refundflow/internal/sandbox/internal/specrefs"
)

// kept is, per spec, what the project uses: path -> methods.
var kept = map[string]map[string][]string{
	"platform": {
		"/api/v2/conversations/calls/{conversationId}/participants/{participantId}/attributes":                              {"patch"},
		"/api/v2/conversations/calls/{conversationId}/participants/{participantId}/communications/{communicationId}/wrapup": {"post"},
		"/api/v2/conversations/emails/agentless":                                                                            {"post"},
		"/api/v2/taskmanagement/workitems":                                                                                  {"post"},
		"/api/v2/taskmanagement/workitems/query":                                                                            {"post"},
		"/api/v2/taskmanagement/workitems/{workitemId}":                                                                     {"get", "patch"},
		"/api/v2/taskmanagement/worktypes/{worktypeId}/statuses":                                                            {"get", "post"},
		"/api/v2/taskmanagement/worktypes":                                                                                  {"post"},
		"/api/v2/taskmanagement/workitems/schemas":                                                                          {"post"},
		"/api/v2/processautomation/triggers":                                                                                {"post"},
	},
	"integrations": {
		"/api/v2/integrations/actions": {"post"},
	},
}

func main() {
	if len(os.Args) != 3 || kept[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: trimgenesys platform|integrations <spec.json|spec.yml>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	var spec map[string]any
	// YAML is a superset of JSON: one decoder reads both files.
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		fail(err)
	}
	paths := spec["paths"].(map[string]any)
	out := map[string]any{}
	for _, k := range []string{"swagger", "info", "host", "basePath", "schemes", "consumes", "produces", "securityDefinitions"} {
		if v, ok := spec[k]; ok {
			out[k] = v
		}
	}
	keptPaths := map[string]any{}
	for path, methods := range kept[os.Args[1]] {
		item, ok := paths[path].(map[string]any)
		if !ok {
			fail(fmt.Errorf("spec has no path %s", path))
		}
		keptItem := map[string]any{}
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				fail(fmt.Errorf("spec has no %s %s", m, path))
			}
			trimmed := map[string]any{
				"responses": map[string]any{"200": map[string]any{"description": "Successful response (schema trimmed: see trimgenesys)."}},
			}
			for _, k := range []string{"operationId", "summary", "parameters", "consumes", "produces", "security", "x-inin-requires-permissions"} {
				if v, ok := op[k]; ok {
					trimmed[k] = v
				}
			}
			keptItem[m] = trimmed
		}
		if p, ok := item["parameters"]; ok {
			keptItem["parameters"] = p
		}
		keptPaths[path] = keptItem
	}
	out["paths"] = keptPaths

	keptDefs, err := specrefs.Closure(spec, keptPaths, "#/definitions/")
	if err != nil {
		fail(err)
	}
	out["definitions"] = keptDefs
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trimgenesys:", err)
	os.Exit(1)
}
