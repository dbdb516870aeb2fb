package codec

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestRoundTripAndRotation(t *testing.T) {
	t.Parallel()
	old, err := ParseKeys("k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	dc := DataConverter(old)
	p, err := dc.ToPayload(map[string]string{"customerTokenId": "tok_visa_4242"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte("tok_visa")) {
		t.Fatal("payload holds the plain value")
	}
	if string(p.Metadata[MetadataKeyID]) != "k1" || string(p.Metadata[converter.MetadataEncoding]) != Encoding {
		t.Fatalf("metadata = %v", p.Metadata)
	}
	// Rotated: k2 encrypts now, k1 still decrypts old payloads.
	rotated, err := ParseKeys("k2:" + key(2) + ",k1:" + key(1))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := DataConverter(rotated).FromPayload(p, &back); err != nil || back["customerTokenId"] != "tok_visa_4242" {
		t.Fatalf("decode after rotation = %v, %v", back, err)
	}
	p2, _ := DataConverter(rotated).ToPayload("x")
	if string(p2.Metadata[MetadataKeyID]) != "k2" {
		t.Fatalf("new payloads use %s, want k2", p2.Metadata[MetadataKeyID])
	}
	// Without the key, decoding fails loudly.
	if err := DataConverter(old).FromPayload(p2, new(string)); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("decode with missing key: %v", err)
	}
}

func TestTamperedPayloadFails(t *testing.T) {
	t.Parallel()
	keys, _ := ParseKeys("k1:" + key(1) + ",k2:" + key(2))
	c := New(keys)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"secret"`)}})
	if err != nil {
		t.Fatal(err)
	}
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(Encoding), MetadataKeyID: []byte("k2")}, Data: enc[0].Data}
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a payload relabelled with another key id decoded")
	}
	flipped := bytes.Clone(enc[0].Data)
	flipped[len(flipped)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{{Metadata: enc[0].Metadata, Data: flipped}}); err == nil {
		t.Fatal("a tampered payload decoded")
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	t.Parallel()
	keys, _ := ParseKeys("k1:" + key(1))
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`1`)}
	out, err := New(keys).Decode([]*commonpb.Payload{plain})
	if err != nil || out[0] != plain {
		t.Fatalf("plain payload: %v %v", out, err)
	}
}

func TestParseKeysErrors(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"nokey", "k1:!!!", "k1:" + base64.StdEncoding.EncodeToString([]byte("short")), "k1:" + key(1) + ",k1:" + key(2), ":" + key(1)} {
		if _, err := ParseKeys(spec); err == nil {
			t.Errorf("ParseKeys(%q) accepted", spec)
		}
	}
	if k, err := ParseKeys(""); k != nil || err != nil {
		t.Errorf("empty spec = %v, %v; want encryption off", k, err)
	}
}
