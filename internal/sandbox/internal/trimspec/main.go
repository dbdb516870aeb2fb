// Command trimspec writes the part of Stripe's OpenAPI spec the sandbox's
// Stripe side validates requests against (internal/sandbox/stripe_openapi.json):
//
//	go mod download github.com/stripe/stripe-mock@v0.203.0
//	go run ./internal/sandbox/internal/trimspec \
//	  $(go env GOMODCACHE)/github.com/stripe/stripe-mock@v0.203.0/embedded/openapi/spec3.json \
//	  > internal/sandbox/stripe_openapi.json
//
// It keeps, of the paths the sandbox serves, the operations it serves with
// their parameters and request bodies untouched, replaces each operation's
// responses by a bare 200 (the sandbox validates requests, and Stripe's
// response schemas pull in nearly the whole spec through their $refs),
// and keeps the components those parts still $ref, transitively, plus the
// security schemes. The spec's info (its API version) is kept as it is.
//
// One change of meaning-preserving form: a query parameter of type array
// with style deepObject (Stripe's expand, sent as expand[]=...) becomes
// style form. OpenAPI defines deepObject for objects only, and kin-openapi
// refuses the parameter outright otherwise; the sandbox checks such keys'
// names itself (stripespec.go).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/refundflow/refundflow/internal/sandbox/internal/specrefs"
)

// served is what the sandbox serves: path -> methods.
var served = map[string][]string{
	"/v1/payment_intents/{intent}": {"get"},
	"/v1/charges/{charge}":         {"get"},
	"/v1/refunds":                  {"get", "post"},
	"/v1/refunds/{refund}":         {"get"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trimspec <spec3.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail(err)
	}
	paths := spec["paths"].(map[string]any)
	out := map[string]any{
		"openapi": spec["openapi"],
		"info":    spec["info"],
		"servers": spec["servers"],
	}
	if sec, ok := spec["security"]; ok {
		out["security"] = sec
	}
	keptPaths := map[string]any{}
	for path, methods := range served {
		item, ok := paths[path].(map[string]any)
		if !ok {
			fail(fmt.Errorf("spec has no path %s", path))
		}
		kept := map[string]any{}
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				fail(fmt.Errorf("spec has no %s %s", m, path))
			}
			trimmed := map[string]any{
				"responses": map[string]any{"200": map[string]any{"description": "Successful response (schema trimmed: see trimspec)."}},
			}
			for _, k := range []string{"operationId", "summary", "parameters", "requestBody"} {
				if v, ok := op[k]; ok {
					trimmed[k] = v
				}
			}
			params, _ := trimmed["parameters"].([]any)
			for _, p := range params {
				param := p.(map[string]any)
				schema, _ := param["schema"].(map[string]any)
				if param["in"] == "query" && param["style"] == "deepObject" && schema["type"] == "array" {
					param["style"] = "form"
				}
			}
			kept[m] = trimmed
		}
		if p, ok := item["parameters"]; ok {
			kept["parameters"] = p
		}
		keptPaths[path] = kept
	}
	out["paths"] = keptPaths

	components := spec["components"].(map[string]any)
	keptSchemas, err := specrefs.Closure(spec, keptPaths, "#/components/schemas/")
	if err != nil {
		fail(err)
	}
	out["components"] = map[string]any{
		"schemas":         keptSchemas,
		"securitySchemes": components["securitySchemes"],
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trimspec:", err)
	os.Exit(1)
}
