// Command trimadyen writes the parts of Adyen's published OpenAPI specs the
// sandbox's Adyen side validates against (internal/sandbox/testdata/adyen/):
//
//	go run ./internal/sandbox/internal/trimadyen checkout CheckoutService-v71.json \
//	  > internal/sandbox/testdata/adyen/checkout-v71.json
//	go run ./internal/sandbox/internal/trimadyen webhooks Webhooks-v1.json \
//	  > internal/sandbox/testdata/adyen/webhooks-v1.json
//
// from github.com/Adyen/adyen-openapi json/ (see testdata/adyen/README.md
// for the commit). It keeps the refund operation (checkout) or the refund
// webhooks (webhooks) with their parameters and request bodies untouched,
// replaces each operation's responses by a bare one (the sandbox validates
// what it is sent and what it sends, and the responses' examples pull in
// much of the spec), drops request examples, and keeps every component
// those parts still $ref, transitively. Nothing of meaning is changed.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/refundflow/refundflow/internal/sandbox/internal/specrefs"
)

// kept is, per document, the section and the entries the sandbox uses.
var kept = map[string]struct {
	section string
	entries []string
}{
	"checkout": {"paths", []string{"/payments/{paymentPspReference}/refunds"}},
	"webhooks": {"webhooks", []string{"/REFUND", "/REFUND_FAILED", "/REFUNDED_REVERSED"}},
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trimadyen checkout|webhooks <spec.json>")
		os.Exit(2)
	}
	want, ok := kept[os.Args[1]]
	if !ok {
		fail(fmt.Errorf("unknown document %q", os.Args[1]))
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail(err)
	}
	out := map[string]any{}
	for _, k := range []string{"openapi", "info", "servers", "security", "jsonSchemaDialect"} {
		if v, ok := spec[k]; ok {
			out[k] = v
		}
	}
	section, _ := spec[want.section].(map[string]any)
	keptItems := map[string]any{}
	for _, name := range want.entries {
		item, ok := section[name].(map[string]any)
		if !ok {
			fail(fmt.Errorf("spec has no %s %s", want.section, name))
		}
		trimmed := map[string]any{}
		for method, v := range item {
			op, ok := v.(map[string]any)
			if !ok || method == "parameters" {
				trimmed[method] = v
				continue
			}
			t := map[string]any{"responses": map[string]any{"default": map[string]any{"description": "Response (trimmed: see trimadyen)."}}}
			for _, k := range []string{"operationId", "summary", "parameters", "requestBody", "security"} {
				if v, ok := op[k]; ok {
					t[k] = v
				}
			}
			if rb, ok := t["requestBody"].(map[string]any); ok {
				for _, media := range rb["content"].(map[string]any) {
					delete(media.(map[string]any), "examples")
				}
			}
			trimmed[method] = t
		}
		keptItems[name] = trimmed
	}
	out[want.section] = keptItems

	components := spec["components"].(map[string]any)
	kept, err := specrefs.Closure(spec, keptItems, "#/components/")
	if err != nil {
		fail(err)
	}
	keptComponents := map[string]map[string]any{}
	for ref, c := range kept {
		kind, name, _ := strings.Cut(ref, "/")
		if keptComponents[kind] == nil {
			keptComponents[kind] = map[string]any{}
		}
		keptComponents[kind][name] = c
	}
	comps := map[string]any{"securitySchemes": components["securitySchemes"]}
	for kind, m := range keptComponents {
		comps[kind] = m
	}
	out["components"] = comps
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trimadyen:", err)
	os.Exit(1)
}
