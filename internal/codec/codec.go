// Package codec encrypts every payload Temporal stores for us (workflow
// inputs, activity arguments and results, query answers, summaries, failure
// messages) with AES-256-GCM, so the history at rest holds no customer data
// in clear. Keys rotate: the first key encrypts, every key decrypts.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding marks an encrypted payload in its metadata.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the algorithm, for whoever decrypts it in years.
	MetadataCipher = "encryption-cipher"
	cipherName     = "AES-256-GCM"
)

// Keyring holds the keys from REFUNDFLOW_CODEC_KEYS ("id:base64,...").
type Keyring struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// ParseKeys reads "id:base64key,...": each key 32 bytes (AES-256) in
// standard base64. An empty spec gives a nil Keyring (encryption off).
func ParseKeys(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for _, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" {
			return nil, errors.New("REFUNDFLOW_CODEC_KEYS: want id:base64key,... ")
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("REFUNDFLOW_CODEC_KEYS: key id %q given twice", id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("REFUNDFLOW_CODEC_KEYS: key %q is not base64", id)
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("REFUNDFLOW_CODEC_KEYS: key %q has %d bytes, want 32 (AES-256)", id, len(raw))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.aeads[id] = aead
		if k.currentID == "" {
			k.currentID = id
		}
	}
	return k, nil
}

// CurrentKeyID is the key new payloads are encrypted with.
func (k *Keyring) CurrentKeyID() string { return k.currentID }

// Codec is a converter.PayloadCodec over a Keyring.
type Codec struct{ keys *Keyring }

// New returns the payload codec for a keyring.
func New(keys *Keyring) *Codec { return &Codec{keys: keys} }

// Encode encrypts each payload whole (metadata and data), so not even the
// encoding of the plain value is visible.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.keys.aeads[c.keys.currentID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		// The key ID is bound as additional data: a payload relabelled with
		// another key ID fails to open instead of decrypting to garbage.
		sealed := aead.Seal(nonce, nonce, plain, []byte(c.keys.currentID))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.keys.currentID),
				MetadataCipher:             []byte(cipherName),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts payloads this codec encrypted and passes others through
// (histories written before encryption was turned on stay readable).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with unknown key %q (add it to REFUNDFLOW_CODEC_KEYS)", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("codec: encrypted payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: decrypt with key %q: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("codec: unmarshal payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the default converter with encryption; nil keys give
// the default converter unchanged.
func DataConverter(keys *Keyring) converter.DataConverter {
	if keys == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(keys))
}

// FailureConverter moves failure messages and stack traces into an encoded
// payload, so error texts (which can quote a gateway's answer) are encrypted
// too. With no keys it is the default.
func FailureConverter(keys *Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(keys),
		EncodeCommonAttributes: keys != nil,
	})
}
