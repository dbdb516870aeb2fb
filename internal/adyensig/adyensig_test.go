package adyensig

import "testing"

// publishedKey, publishedItem and publishedSignature are Adyen's own worked
// example, the vector its libraries test against (e.g. adyen-ruby-api-library
// spec/hmac_validator_spec.rb): matching it byte for byte proves the
// scheme, not just that Sign and Verify agree with each other.
const (
	publishedKey       = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	publishedSignature = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
)

var publishedItem = Item{
	PSPReference: "7914073381342284", MerchantAccountCode: "TestMerchant",
	MerchantReference: "TestPayment-1407325143704", Value: 1130, Currency: "EUR",
	EventCode: "AUTHORISATION", Success: "true",
}

func mustKey(t *testing.T, hexKey string) []byte {
	t.Helper()
	k, err := ParseKey(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSigningStringIsAdyens(t *testing.T) {
	want := "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
	if got := SigningString(publishedItem); got != want {
		t.Fatalf("signing string %q, want %q", got, want)
	}
}

func TestSignMatchesAdyensPublishedExample(t *testing.T) {
	if got := Sign(mustKey(t, publishedKey), publishedItem); got != publishedSignature {
		t.Fatalf("signature %q, want Adyen's %q", got, publishedSignature)
	}
}

func TestVerify(t *testing.T) {
	key := mustKey(t, publishedKey)
	other := mustKey(t, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	tampered := publishedItem
	tampered.Value = 1131
	flipped := publishedItem
	flipped.Success = "false"
	cases := []struct {
		name string
		sig  string
		item Item
		keys [][]byte
		want bool
	}{
		{"published", publishedSignature, publishedItem, [][]byte{key}, true},
		{"any of several keys (rotation)", publishedSignature, publishedItem, [][]byte{other, key}, true},
		{"wrong key", publishedSignature, publishedItem, [][]byte{other}, false},
		{"no keys", publishedSignature, publishedItem, nil, false},
		{"amount changed", publishedSignature, tampered, [][]byte{key}, false},
		{"success flipped", publishedSignature, flipped, [][]byte{key}, false},
		{"empty signature", "", publishedItem, [][]byte{key}, false},
		{"not base64", "%%%", publishedItem, [][]byte{key}, false},
	}
	for _, c := range cases {
		if got := Verify(c.sig, c.item, c.keys); got != c.want {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseKeyRefusesWhatIsNotHex(t *testing.T) {
	for _, k := range []string{"", "not-hex", "abc"} {
		if _, err := ParseKey(k); err == nil {
			t.Errorf("ParseKey(%q) accepted", k)
		}
	}
}
