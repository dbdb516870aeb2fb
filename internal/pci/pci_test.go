package pci

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Test card numbers published by the card schemes and gateways; all Luhn-valid.
const (
	visa16  = "4111111111111111"
	amex15  = "378282246310005"
	visa13  = "4222222222222"
	mc16    = "5555555555554444"
	union19 = "6212345678901265"
)

func TestContainsCardNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want bool
	}{
		{visa16, true},
		{amex15, true},
		{visa13, true},
		{mc16, true},
		{"4111 1111 1111 1111", true},
		{"4111-1111-1111-1111", true},
		{"3782 822463 10005", true},
		{"4111 - 1111 - 1111 - 1111", true},
		{"4111\u00a01111\u00a01111\u00a01111", true},
		{"4111–1111–1111–1111", true}, // en dashes from a word processor
		{"card 4111 1111 1111 1111 thanks", true},
		{"my card is 4111111111111111.", true},
		{"tok_visa_4111111111111111", true},
		{"4111 1111 1111 1111 123", true},    // PAN then CVV: a span of groups
		{"exp 12/27 4111111111111111", true}, // PAN after other numbers
		{"6011000990139424", true},
		{"4012888888881881 and 5105105105105100", true},
		{"4111111111111112", false}, // Luhn fails
		{"411111111111", false},     // 12 digits
		{"41111111111111111111", false},
		{"12345678901234567890", false}, // 20 digits: not a card number
		{"4111.1111.1111.1111", false},  // dots are not card separators
		{"4111    1111 1111 1111", false},
		{"49.99", false},
		{"txn-2024-000123", false},
		{"tok_visa_1234", false},
		{"", false},
		{"call me at +1 (555) 010-9999", false},
		{"2024-05-27T10:55:00Z", false},
		// Genesys ids are UUIDs; these two hold a Luhn-valid run of 13
		// digits across their groups, and are still only UUIDs.
		{"fb9c672a-7cef-4584-8787-80468b1b5698", false},
		{`{"conversationId":"b83c56dc-3238-41a8-9058-78724980edbd"}`, false},
		{"fb9c672a-7cef-4584-8787-80468b1b5698 4111111111111111", true},
		{"4111111111111111 fb9c672a-7cef-4584-8787-80468b1b5698", true},
		{"x4584-8787-80468", true}, // not a UUID: the digits count
	}
	for _, c := range cases {
		if got := ContainsCardNumber(c.in); got != c.want {
			t.Errorf("ContainsCardNumber(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestIsCardDataKey(t *testing.T) {
	t.Parallel()
	flagged := []string{
		"cvv", "CVV", "cvv2", "CVV2", "cvc", "cvc2", "cid", "CID", "pan", "PAN",
		"cardNumber", "card_number", "card-number", "CardNumber", "CARD_NUMBER",
		"ccnumber", "ccNumber", "CCNumber", "cc_num", "creditCard", "credit_card",
		"creditCardNumber", "creditCardType", "card_cvv", "cardCVC", "card.pan",
		"securityCode", "card_security_code", "primaryAccountNumber", "cardNo",
		"customer_card_number", "pan_id", "cvv2Code",
	}
	for _, k := range flagged {
		if !IsCardDataKey(k) {
			t.Errorf("IsCardDataKey(%q) = false, want true", k)
		}
	}
	clean := []string{
		"company", "companyName", "panel", "panelId", "span", "expand", "japan",
		"participantId", "communicationId", "conversationId", "customerTokenId",
		"cardholderName", "cardType", "cardBrand", "discard", "cardinality",
		"conversationCid", "cidr", "incident", "accountNumber", "transactionId",
		"refundAmount", "capacity", "scan", "pane", "pancake", "", "_",
	}
	for _, k := range clean {
		if IsCardDataKey(k) {
			t.Errorf("IsCardDataKey(%q) = true, want false", k)
		}
	}
}

func TestContainsCardholderData(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want bool
	}{
		{"clean", `{"transactionId":"txn-1","refundAmount":"49.99","currency":"USD"}`, false},
		{"clean nested", `{"a":{"b":[1,2,{"company":"ACME","panel":"x"}]},"n":12345678901234567890}`, false},
		{"string value", `{"customerTokenId":"4111111111111111"}`, true},
		{"spaced in text", `{"note":"card 4111 1111 1111 1111 thanks"}`, true},
		{"number value", `{"customerId":4111111111111111}`, true},
		{"number with fraction", `{"x":4111111111111111.0}`, true},
		{"number in exponent form", `{"x":4.111111111111111e15}`, true},
		{"nested unknown field", `{"transactionId":"t","extra":{"deep":[{"x":"5555-5555-5555-4444"}]}}`, true},
		{"in array", `["a",["b",["378282246310005"]]]`, true},
		{"in key", `{"4111111111111111":"x"}`, true},
		{"escaped digits", `{"x":"\u0034111111111111111"}`, true},
		{"cvv key", `{"transactionId":"t","cvv":"123"}`, true},
		{"nested cvv key", `{"a":[{"b":{"Card_Number":null}}]}`, true},
		{"cvv key with empty value", `{"cvc":""}`, true},
		{"key after nested object", `{"a":{"b":1},"cvv":1}`, true},
		{"value named like key", `{"field":"cvv"}`, false},
		{"malformed with PAN", `{"x": 4111 1111 1111 1111`, true},
		{"malformed clean", `{"x": `, false},
		{"huge exponent", `{"x":1e1000000000}`, false},
		{"negative", `{"x":-4111111111111111}`, true},
		{"luhn-invalid number", `{"x":4111111111111112}`, false},
	}
	for _, c := range cases {
		if got := ContainsCardholderData([]byte(c.in)); got != c.want {
			t.Errorf("%s: ContainsCardholderData(%s) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
}

func TestIntegerDigits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"4.111111111111111e15", "4111111111111111", true},
		{"4111111111111111E0", "4111111111111111", true},
		{"41111111111111110e-1", "4111111111111111", true},
		{"4.1e1", "41", true},
		{"4.15e1", "", false}, // 41.5 is no integer
		{"1e30", "", false},
		{"1e-999999999999", "", false},
		{"49.99", "", false},
		{"-3.78282246310005e14", "378282246310005", true},
	}
	for _, c := range cases {
		got, ok := integerDigits(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("integerDigits(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{visa16, "411111******1111"},
		{"card 4111 1111 1111 1111 thanks", "card 4111 11** **** 1111 thanks"},
		{"4111-1111-1111-1112", "4111-11**-****-1112"}, // Luhn-invalid is masked too
		{visa13, "422222***2222"},
		{"12345678901234567890", "123456**********7890"},
		{"txn-2024-000123", "txn-2024-000123"},
		{"/v1/remediations/4111111111111111/decision", "/v1/remediations/411111******1111/decision"},
		{"", ""},
		{"ünïcode 4111 1111 1111 1111 ✓", "ünïcode 4111 11** **** 1111 ✓"},
	}
	for _, c := range cases {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLuhn(t *testing.T) {
	t.Parallel()
	for _, pan := range []string{visa16, amex15, visa13, mc16, union19, "79927398713"} {
		if !luhn([]byte(pan)) {
			t.Errorf("luhn(%s) = false", pan)
		}
	}
	if luhn([]byte("79927398710")) {
		t.Error("luhn(79927398710) = true")
	}
}

func FuzzContainsCardholderData(f *testing.F) {
	for _, s := range []string{
		`{"transactionId":"txn-1","refundAmount":49.99}`,
		`{"note":"card 4111 1111 1111 1111 thanks"}`,
		`{"a":[{"cvv":"123"}]}`,
		`{"x":4.111111111111111e15}`,
		`{"4111111111111111":1}`,
		`[1,"2",{"3":[4]}]`,
		`{"x": 4111 1111`,
		`"3782-822463-10005"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := ContainsCardholderData(raw)
		if !json.Valid(raw) {
			// Invalid JSON is scanned as text (a key read before the
			// syntax error may flag it as well).
			if ContainsCardNumber(string(raw)) && !got {
				t.Fatalf("invalid JSON %q: text scan finds a card number, screen does not", raw)
			}
			return
		}
		// Valid JSON: whatever a plain decode-and-walk finds, the streaming
		// screen finds too (it may find more: duplicate keys, which a map
		// keeps only once).
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("json.Valid but Decode failed: %v", err)
		}
		if referenceWalk(v) && !got {
			t.Fatalf("%q: reference walk finds cardholder data, screen does not", raw)
		}
		masked := Mask(string(raw))
		if ContainsCardNumber(masked) {
			t.Fatalf("Mask(%q) = %q still holds a card number", raw, masked)
		}
	})
}

// referenceWalk is the obvious, slower definition the screen is checked against.
func referenceWalk(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if IsCardDataKey(k) || ContainsCardNumber(k) || referenceWalk(child) {
				return true
			}
		}
	case []any:
		for _, child := range v {
			if referenceWalk(child) {
				return true
			}
		}
	case string:
		return ContainsCardNumber(v)
	case json.Number:
		return numberHoldsPAN(string(v))
	}
	return false
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{visa16, "card 4111 1111 1111 1111 thanks", "12345678901234567890", "a-1-2-3", "ü4111–1111–1111–1111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Mask(s)
		if ContainsCardNumber(m) {
			t.Fatalf("Mask(%q) = %q still holds a card number", s, m)
		}
		if Mask(m) != m {
			t.Fatalf("Mask not idempotent: %q -> %q -> %q", s, m, Mask(m))
		}
		if len(m) != len(s) {
			t.Fatalf("Mask(%q) changed the byte length: %q", s, m)
		}
	})
}

func BenchmarkContainsCardholderData(b *testing.B) {
	body := []byte(`{"transactionId":"txn-2024-000123","dispositionCode":"Refund_Processed","customerTokenId":"tok_visa_1234","customerId":"cus_987654","refundAmount":"49.99","currency":"USD","conversationId":"8a6e3c0e-3f4b-4b8e-9a52-6a1f2f7e9d11","participantId":"0d4b7c2a-9e1f-4d55-8a33-2c6f0b1e7a90","communicationId":"f1e2d3c4-b5a6-4789-8abc-def012345678","agentId":"5b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","queueId":"c0ffee00-1234-4567-89ab-cdef01234567","timestamp":"2024-05-27T10:55:00Z","note":"customer called about order 123456, refund approved by supervisor"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if ContainsCardholderData(body) {
			b.Fatal("clean body flagged")
		}
	}
}

func BenchmarkContainsCardNumber(b *testing.B) {
	text := strings.Repeat("order 123456 on 2024-05-27, ticket 987-654-321; ", 20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if ContainsCardNumber(text) {
			b.Fatal("clean text flagged")
		}
	}
}

// No random UUID is a card number, and Mask leaves them whole. Before UUIDs
// were recognised, one in about 355 was.
func TestUUIDsAreNotCardNumbers(t *testing.T) {
	t.Parallel()
	for i := range 100000 {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		if ContainsCardNumber(u) || Mask(u) != u || ContainsCardholderData([]byte(`{"conversationId":"`+u+`"}`)) {
			t.Fatalf("UUID %d, %s, taken for a card number", i, u)
		}
	}
}
