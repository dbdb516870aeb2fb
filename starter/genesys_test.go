package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/request"
)

// dataAction is the part of genesys/data-action.json this test reads.
type dataAction struct {
	IntegrationType string `json:"integrationType"`
	ActionType      string `json:"actionType"`
	Config          struct {
		Request struct {
			RequestURLTemplate string            `json:"requestUrlTemplate"`
			RequestType        string            `json:"requestType"`
			Headers            map[string]string `json:"headers"`
			RequestTemplate    string            `json:"requestTemplate"`
		} `json:"request"`
		Response struct {
			TranslationMap         map[string]string `json:"translationMap"`
			TranslationMapDefaults map[string]string `json:"translationMapDefaults"`
			SuccessTemplate        string            `json:"successTemplate"`
		} `json:"response"`
	} `json:"config"`
	Contract struct {
		Input struct {
			InputSchema struct {
				Required   []string                  `json:"required"`
				Properties map[string]map[string]any `json:"properties"`
			} `json:"inputSchema"`
		} `json:"input"`
		Output struct {
			SuccessSchema struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"successSchema"`
		} `json:"output"`
	} `json:"contract"`
}

func loadDataAction(t *testing.T) dataAction {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "genesys", "data-action.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a dataAction
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// escRef is the one Velocity form the request template uses.
var escRef = regexp.MustCompile(`\$!esc\.jsonString\(\$input\.([A-Za-z]+)\)`)

// renderRequest does what Genesys's Velocity does with that form: the input
// JSON-escaped, or nothing when the flow did not set it.
func renderRequest(template string, inputs map[string]string) string {
	return escRef.ReplaceAllStringFunc(template, func(ref string) string {
		v := inputs[escRef.FindStringSubmatch(ref)[1]]
		enc, _ := json.Marshal(v)
		return string(enc[1 : len(enc)-1])
	})
}

// TestGenesysDataActionMatchesTheWebhook keeps the Data Action an admin
// imports in step with what the webhook accepts and answers.
func TestGenesysDataActionMatchesTheWebhook(t *testing.T) {
	t.Parallel()
	a := loadDataAction(t)
	req := a.Config.Request
	if a.IntegrationType != "custom-rest-actions" || a.ActionType != "custom" || req.RequestType != "POST" ||
		!strings.HasSuffix(req.RequestURLTemplate, "/v1/dispositions") ||
		req.Headers["Authorization"] != "Bearer ${credentials.token}" || req.Headers["Content-Type"] != "application/json" {
		t.Fatalf("request config: %+v", req)
	}
	var inputs []string
	for name := range a.Contract.Input.InputSchema.Properties {
		inputs = append(inputs, name)
	}
	slices.Sort(inputs)
	want := request.DispositionFields()
	slices.Sort(want)
	if !slices.Equal(inputs, want) {
		t.Errorf("inputs %v, want the contract's fields %v", inputs, want)
	}
	if !slices.Equal(a.Contract.Input.InputSchema.Required, []string{"transactionId", "dispositionCode"}) {
		t.Errorf("required %v", a.Contract.Input.InputSchema.Required)
	}

	// Every field set, with characters that need escaping.
	full := map[string]string{}
	for _, f := range request.DispositionFields() {
		full[f] = "v"
	}
	full["transactionId"], full["dispositionCode"], full["refundAmount"] = "pi_3N.x:1-2", "Refund_Processed", "49.99"
	full["timestamp"], full["customerId"] = "2024-05-27T10:55:00Z", `cus "quoted" \ back`
	// Only the required ones set: the others render as "".
	minimal := map[string]string{"transactionId": "t-1", "dispositionCode": "Issue_Resolved"}
	for name, in := range map[string]map[string]string{"full": full, "minimal": minimal} {
		body := renderRequest(req.RequestTemplate, in)
		if strings.Contains(body, "$") {
			t.Errorf("%s: unrendered reference in %s", name, body)
		}
		got, bad := request.DecodeDisposition([]byte(body))
		if bad != nil {
			t.Fatalf("%s: the starter refuses the Data Action's body %s: %v", name, body, bad)
		}
		if got.TransactionID != in["transactionId"] || got.CustomerID != in["customerId"] || string(got.RefundAmount) != in["refundAmount"] {
			t.Errorf("%s: decoded %+v", name, got)
		}
	}

	// The response translation must render valid JSON for each answer.
	resp := a.Config.Response
	for _, answer := range []any{
		startedResponse{Status: "started", WorkflowID: "remediation-t", RunID: "r"},
		duplicateResponse{Status: "duplicate", WorkflowID: "remediation-t", RunID: "r", State: string(remediation.StateCompleted)},
		ignoredResponse{Status: "ignored", Reason: `code "X" is not financial`},
	} {
		raw, _ := json.Marshal(answer)
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(raw, &fields)
		out := resp.SuccessTemplate
		for alias, path := range resp.TranslationMap {
			value, ok := fields[strings.TrimPrefix(path, "$.")]
			if !ok {
				def, hasDefault := resp.TranslationMapDefaults[alias]
				if !hasDefault {
					t.Fatalf("%s: %s is absent and has no default", raw, alias)
				}
				value = json.RawMessage(def)
			}
			out = strings.ReplaceAll(out, "${"+alias+"}", string(value))
		}
		var parsed map[string]string
		if err := json.Unmarshal([]byte(out), &parsed); err != nil {
			t.Fatalf("success template for %s renders %s: %v", raw, out, err)
		}
		for key := range parsed {
			if _, ok := a.Contract.Output.SuccessSchema.Properties[key]; !ok {
				t.Errorf("output %q is not in the success schema", key)
			}
		}
		if parsed["status"] == "" {
			t.Errorf("no status in %s", out)
		}
	}
}
