package main

import (
	"encoding/json"
	"testing"
)

// The workitem's id is taken from {"workitemId"} or from the trigger
// event, and nothing else of the body counts.
func TestWorkitemEventShapes(t *testing.T) {
	const id = "cdca633b-e587-42f7-bd28-020ba45d578f"
	for _, c := range []struct{ body, want string }{
		{`{"workitemId":"` + id + `"}`, id},
		{`{"topicName":"v2.taskmanagement.workitems.` + id + `","eventBody":{"id":"` + id + `","statusId":"x"}}`, id},
		{`{"id":"` + id + `","typeId":"t"}`, id},
		{`{"statusId":"Approved"}`, ""},
	} {
		var ev workitemEvent
		if err := json.Unmarshal([]byte(c.body), &ev); err != nil {
			t.Fatal(err)
		}
		if got := ev.workitem(); got != c.want {
			t.Errorf("%s: workitem %q, want %q", c.body, got, c.want)
		}
	}
	for _, bad := range []string{"", "q-finance", id + "0", "cdca633b_e587-42f7-bd28-020ba45d578f", "gdca633b-e587-42f7-bd28-020ba45d578f"} {
		if isGenesysID(bad) {
			t.Errorf("%q taken for a Genesys id", bad)
		}
	}
	if !isGenesysID(id) {
		t.Errorf("%q refused", id)
	}
}
