// Package genesys holds what a Genesys admin imports to wire Genesys Cloud
// to Refundflow; its test holds each file to Genesys's published API spec.
package genesys

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/refundflow/refundflow/activities"
	"github.com/refundflow/refundflow/internal/sandbox"
)

// placeholderWorktype stands for the org's worktype id in the paths.
const placeholderWorktype = "00000000-0000-4000-8000-000000000000"

// artifacts are the files and the API call each is the body of.
var artifacts = []struct {
	file, method, path string
	integrations       bool
	// array: the file is a list, each item one call's body.
	array bool
}{
	{"data-action.json", http.MethodPost, "/api/v2/integrations/actions", true, false},
	{"data-action-workitem-decision.json", http.MethodPost, "/api/v2/integrations/actions", true, false},
	{"trigger-acw-disposition.json", http.MethodPost, "/api/v2/processautomation/triggers", false, false},
	{"trigger-workitem-decision.json", http.MethodPost, "/api/v2/processautomation/triggers", false, false},
	{"worktype-statuses.json", http.MethodPost, "/api/v2/taskmanagement/worktypes/" + placeholderWorktype + "/statuses", false, true},
	{"workitem-schema.json", http.MethodPost, "/api/v2/taskmanagement/workitems/schemas", false, false},
}

func TestArtifactsMatchTheGenesysSpec(t *testing.T) {
	platform, err := sandbox.GenesysPlatformSpec()
	if err != nil {
		t.Fatal(err)
	}
	integrations, err := sandbox.GenesysIntegrationsSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range artifacts {
		raw, err := os.ReadFile(a.file)
		if err != nil {
			t.Fatal(err)
		}
		bodies := []json.RawMessage{raw}
		if a.array {
			bodies = nil
			if err := json.Unmarshal(raw, &bodies); err != nil || len(bodies) == 0 {
				t.Fatalf("%s: want a JSON list of bodies: %v", a.file, err)
			}
		}
		spec := platform
		if a.integrations {
			spec = integrations
		}
		for i, body := range bodies {
			if problem := check(spec, a.method, a.path, body); problem != "" {
				t.Errorf("%s[%d]: %s", a.file, i, problem)
			}
		}
	}
}

// The check can fail: a trigger whose match operator is not one of
// Genesys's, and an action with no integrationId, are refused.
func TestArtifactCheckRefusesWrongBodies(t *testing.T) {
	platform, _ := sandbox.GenesysPlatformSpec()
	integrations, _ := sandbox.GenesysIntegrationsSpec()
	if problem := check(platform, http.MethodPost, "/api/v2/processautomation/triggers",
		[]byte(`{"name":"x","topicName":"v2.taskmanagement.workitems.{id}","enabled":true,"target":{"type":"Workflow","id":"w"},"matchCriteria":[{"jsonPath":"statusId","operator":"Equals","value":"x"}]}`)); !strings.Contains(problem, "operator") {
		t.Errorf("bad operator: %q", problem)
	}
	if problem := check(integrations, http.MethodPost, "/api/v2/integrations/actions",
		[]byte(`{"name":"x","category":"c","config":{},"contract":{"input":{"inputSchema":{}},"output":{"successSchema":{}}}}`)); !strings.Contains(problem, "integrationId") {
		t.Errorf("no integrationId: %q", problem)
	}
}

// What the worker and the admin files must agree on: the decision
// statuses of the default REFUNDFLOW_GENESYS_DECISION_STATUSES, the
// custom fields the worker writes and reads, and the event the decision
// trigger posts.
func TestArtifactsAgreeWithTheWorker(t *testing.T) {
	var statuses []struct{ Name, Category string }
	readJSON(t, "worktype-statuses.json", &statuses)
	names := map[string]bool{}
	for _, s := range statuses {
		names[s.Name] = true
		if s.Category == "Closed" {
			t.Errorf("status %s is in category Closed: the workitem would leave the queue before Refundflow applied it", s.Name)
		}
	}
	for _, want := range []string{"Approved", "Rejected", "Resolved"} {
		if !names[want] {
			t.Errorf("no status %s", want)
		}
	}
	var schema struct {
		JSONSchema struct {
			Properties map[string]any `json:"properties"`
		} `json:"jsonSchema"`
	}
	readJSON(t, "workitem-schema.json", &schema)
	for _, field := range []string{"transactionid_text", "workflowid_text", activities.RefundAmountField} {
		if schema.JSONSchema.Properties[field] == nil {
			t.Errorf("the workitem schema has no field %s", field)
		}
	}
	var action struct {
		Config struct {
			Request struct {
				RequestURLTemplate string `json:"requestUrlTemplate"`
				RequestTemplate    string `json:"requestTemplate"`
			} `json:"request"`
		} `json:"config"`
	}
	readJSON(t, "data-action-workitem-decision.json", &action)
	if !strings.HasSuffix(action.Config.Request.RequestURLTemplate, "/v1/genesys-events/workitem") ||
		!strings.Contains(action.Config.Request.RequestTemplate, `"workitemId"`) {
		t.Errorf("the decision action does not post {workitemId} to the starter: %+v", action.Config.Request)
	}
}

func check(spec *sandbox.GenesysSpec, method, path string, body []byte) string {
	r, err := http.NewRequest(method, "https://api.mypurecloud.com"+path, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	r.Header.Set("Content-Type", "application/json")
	problem, known := spec.Check(r)
	if !known {
		return "the spec has no " + method + " " + path
	}
	return problem
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
