package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// testClientErrors checks every 4xx of POST /v1/dispositions.
func testClientErrors(t *testing.T, api *apiServer) {
	t.Parallel()
	valid := func() map[string]any { return dispositionBody(txnID("err"), "Refund_Processed", "1.00") }

	t.Run("400", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name   string
			body   string
			fields []string
		}{
			{"malformed JSON", `{"transactionId":"t1","dispositionCode":`, nil},
			{"trailing garbage", `{"transactionId":"t1","dispositionCode":"Refund_Processed"} x`, nil},
			{"not an object", `["t1","Refund_Processed"]`, nil},
			{"null", `null`, nil},
			{"empty body", ``, nil},
			{"wrong types", `{"transactionId":"t1","dispositionCode":"Refund_Processed","refundAmount":true,"currency":840,"agentId":{"id":"a"}}`,
				[]string{"refundAmount", "currency", "agentId"}},
			{"number transactionId", `{"transactionId":12345,"dispositionCode":"Refund_Processed"}`, []string{"transactionId"}},
			{"missing both", `{"customerId":"c1"}`, []string{"transactionId", "dispositionCode"}},
			{"missing dispositionCode", `{"transactionId":"t1"}`, []string{"dispositionCode"}},
			{"empty transactionId", `{"transactionId":"","dispositionCode":"Refund_Processed"}`, []string{"transactionId"}},
			{"blank dispositionCode", `{"transactionId":"t1","dispositionCode":"  "}`, []string{"dispositionCode"}},
			{"bad transactionId", `{"transactionId":"has space","dispositionCode":"Refund_Processed"}`, []string{"transactionId"}},
			{"transactionId too long", fmt.Sprintf(`{"transactionId":%q,"dispositionCode":"Refund_Processed"}`, strings.Repeat("a", 129)), []string{"transactionId"}},
			{"transactionId with slash", `{"transactionId":"a/b","dispositionCode":"Refund_Processed"}`, []string{"transactionId"}},
			{"bad timestamp", `{"transactionId":"t1","dispositionCode":"Refund_Processed","timestamp":"yesterday"}`, []string{"timestamp"}},
			{"field too long", fmt.Sprintf(`{"transactionId":"t1","dispositionCode":"Refund_Processed","conversationId":%q}`, strings.Repeat("c", 300)), []string{"conversationId"}},
		}
		for _, c := range cases {
			resp := api.postDisposition(c.body)
			if resp.code != http.StatusBadRequest || resp.str("error") == "" {
				t.Errorf("%s: got %d %s", c.name, resp.code, resp.raw)
				continue
			}
			got := resp.fields()
			if _, ok := resp.body["fields"].([]any); !ok {
				t.Errorf("%s: fields is not a list: %s", c.name, resp.raw)
			}
			if !slices.Equal(got, c.fields) {
				t.Errorf("%s: fields %v, want %v (%s)", c.name, got, c.fields, resp.raw)
			}
		}
	})

	t.Run("401", func(t *testing.T) {
		t.Parallel()
		cases := map[string]string{
			"no credentials":          "",
			"wrong bearer":            "Bearer nope",
			"empty bearer":            "Bearer ",
			"approver token":          "Bearer " + aliceToken,
			"basic with bad password": basicAuth("genesys", "nope"),
			"basic approver token":    basicAuth("genesys", bobToken),
			"unknown scheme":          "Token " + webhookToken,
			"token prefix":            "Bearer " + webhookToken[:len(webhookToken)-1],
		}
		for name, auth := range cases {
			resp := api.send(http.MethodPost, "/v1/dispositions", valid(), func(r *http.Request) {
				r.Header.Set("Content-Type", "application/json")
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
			})
			if resp.code != http.StatusUnauthorized || resp.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: got %d %s", name, resp.code, resp.raw)
			}
		}
	})

	t.Run("accepted credentials", func(t *testing.T) {
		t.Parallel()
		for name, auth := range map[string]string{
			"bearer":            "Bearer " + webhookToken,
			"lower-case scheme": "bearer " + webhookToken,
			"rotated token":     "Bearer " + webhookTokenOld,
			"basic password":    basicAuth("genesys", webhookToken),
		} {
			resp := api.send(http.MethodPost, "/v1/dispositions", valid(), func(r *http.Request) {
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", auth)
			})
			if resp.code != http.StatusAccepted {
				t.Errorf("%s: got %d %s", name, resp.code, resp.raw)
			}
		}
	})

	t.Run("413", func(t *testing.T) {
		t.Parallel()
		big := valid()
		big["padding"] = strings.Repeat("x", maxBodyBytes)
		if resp := api.postDisposition(big); resp.code != http.StatusRequestEntityTooLarge {
			t.Errorf("with Content-Length: got %d %s", resp.code, resp.raw)
		}
		// Chunked, so the limit is enforced while reading, not from the header.
		body := `{"transactionId":"t1","dispositionCode":"Refund_Processed","padding":"` + strings.Repeat("x", maxBodyBytes) + `"}`
		resp := api.send(http.MethodPost, "/v1/dispositions", io.MultiReader(strings.NewReader(body)), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+webhookToken)
			r.ContentLength = -1
		})
		if resp.code != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked: got %d %s", resp.code, resp.raw)
		}
		// Exactly at the limit is fine.
		prefix := fmt.Sprintf(`{"transactionId":%q,"dispositionCode":"Issue_Resolved","padding":"`, txnID("exact"))
		enc := prefix + strings.Repeat("y", maxBodyBytes-len(prefix)-2) + `"}`
		if len(enc) != maxBodyBytes {
			t.Fatalf("built %d bytes", len(enc))
		}
		if resp := api.postDisposition(enc); resp.code != http.StatusOK {
			t.Errorf("64 KiB exactly: got %d %s", resp.code, resp.raw)
		}
	})

	t.Run("415", func(t *testing.T) {
		t.Parallel()
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonp", "json"} {
			resp := api.send(http.MethodPost, "/v1/dispositions", valid(), func(r *http.Request) {
				r.Header.Set("Authorization", "Bearer "+webhookToken)
				if ct != "" {
					r.Header.Set("Content-Type", ct)
				}
			})
			if resp.code != http.StatusUnsupportedMediaType {
				t.Errorf("Content-Type %q: got %d %s", ct, resp.code, resp.raw)
			}
		}
		resp := api.send(http.MethodPost, "/v1/dispositions", valid(), func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+webhookToken)
			r.Header.Set("Content-Type", "Application/JSON; charset=utf-8")
		})
		if resp.code != http.StatusAccepted {
			t.Errorf("with parameters: got %d %s", resp.code, resp.raw)
		}
	})

	t.Run("405 and 404", func(t *testing.T) {
		t.Parallel()
		if resp := api.request(http.MethodGet, "/v1/dispositions", webhookToken, nil); resp.code != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/dispositions: %d", resp.code)
		}
		if resp := api.request(http.MethodPost, "/v1/nothing", webhookToken, "{}"); resp.code != http.StatusNotFound {
			t.Errorf("POST /v1/nothing: %d", resp.code)
		}
	})
}

// testCardholderData checks the 422 screen: a card number in any value,
// at any depth, as a string or a number, or a card-data key. The body must
// not reach the log.
func testCardholderData(t *testing.T, api *apiServer) {
	t.Parallel()
	cases := map[string]string{
		"customerTokenId":       `{"transactionId":"%s","dispositionCode":"Refund_Processed","customerTokenId":"4111111111111111"}`,
		"spaced in a note":      `{"transactionId":"%s","dispositionCode":"Refund_Processed","note":"card 4111 1111 1111 1111 thanks"}`,
		"dashed, nested":        `{"transactionId":"%s","dispositionCode":"Refund_Processed","extra":{"deep":[{"x":"5555-5555-5555-4444"}]}}`,
		"number value":          `{"transactionId":"%s","dispositionCode":"Refund_Processed","customerId":378282246310005}`,
		"as refundAmount":       `{"transactionId":"%s","dispositionCode":"Refund_Processed","refundAmount":4111111111111111}`,
		"cvv key":               `{"transactionId":"%s","dispositionCode":"Refund_Processed","cvv":"123"}`,
		"nested cardNumber key": `{"transactionId":"%s","dispositionCode":"Refund_Processed","payment":{"Card_Number":"x"}}`,
		"ignored code too":      `{"transactionId":"%s","dispositionCode":"Issue_Resolved","pan":"x"}`,
		"with other errors":     `{"transactionId":"%s","dispositionCode":5,"customerId":"4111111111111111"}`,
		"malformed JSON":        `{"transactionId":"%s","note":"4111111111111111`,
	}
	for name, tmpl := range cases {
		marker := txnID("pcimarker")
		resp := api.postDisposition(fmt.Sprintf(tmpl, marker))
		if resp.code != http.StatusUnprocessableEntity || resp.str("error") != "cardholder data rejected" {
			t.Errorf("%s: got %d %s", name, resp.code, resp.raw)
		}
		if strings.Contains(resp.raw, "4111") || strings.Contains(resp.raw, marker) {
			t.Errorf("%s: answer echoes the body: %s", name, resp.raw)
		}
		if strings.Contains(api.logs.String(), marker) {
			t.Errorf("%s: the rejected body's transaction ID reached the log", name)
		}
	}
	// The card number is the transaction ID itself: it matches the ID
	// pattern, and must still not be logged, even masked-out in a path.
	if resp := api.postDisposition(`{"transactionId":"4111111111111111","dispositionCode":"Refund_Processed"}`); resp.code != http.StatusUnprocessableEntity {
		t.Errorf("PAN as transactionId: got %d %s", resp.code, resp.raw)
	}
	if resp := api.status("4111111111111111", aliceToken); resp.code != http.StatusUnprocessableEntity {
		t.Errorf("PAN in the status path: got %d %s", resp.code, resp.raw)
	}
	if !strings.Contains(api.logs.String(), `"path":"/v1/remediations/411111******1111"`) {
		t.Errorf("the PAN path was not logged masked")
	}
}
