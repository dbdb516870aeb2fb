// Package adyensig signs and verifies the HMAC signature Adyen puts on each
// item of a standard webhook (additionalData.hmacSignature), once for the
// starter, which verifies it, and the sandbox, which plays Adyen.
//
// Adyen's scheme (docs.adyen.com/development-resources/webhooks/verify-hmac-signatures):
// the signing string is the item's
//
//	pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success
//
// (an absent field is empty, nothing is escaped), the key is the hex string
// from the Customer Area decoded to bytes, and the signature is the
// base64 of HMAC-SHA256(key, signing string).
package adyensig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// Item is what of a NotificationRequestItem the signature covers.
type Item struct {
	PSPReference        string
	OriginalReference   string
	MerchantAccountCode string
	MerchantReference   string
	Value               int64
	Currency            string
	EventCode           string
	// Success is Adyen's text, "true" or "false".
	Success string
}

// SigningString is the text Adyen signs for the item.
func SigningString(it Item) string {
	return strings.Join([]string{
		it.PSPReference, it.OriginalReference, it.MerchantAccountCode, it.MerchantReference,
		strconv.FormatInt(it.Value, 10), it.Currency, it.EventCode, it.Success,
	}, ":")
}

// ParseKey decodes an HMAC key as the Customer Area shows it (hex).
func ParseKey(hexKey string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil {
		return nil, errors.New("an Adyen HMAC key must be hexadecimal")
	}
	if len(k) == 0 {
		return nil, errors.New("an Adyen HMAC key must not be empty")
	}
	return k, nil
}

// Sign is the item's hmacSignature under key (decoded, see ParseKey).
func Sign(key []byte, it Item) string {
	return base64.StdEncoding.EncodeToString(mac(key, it))
}

// Verify reports whether signature (base64) signs the item under any of
// keys (several allow rotation), compared in constant time.
func Verify(signature string, it Item, keys [][]byte) bool {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(sig) == 0 || len(keys) == 0 {
		return false
	}
	found := false
	for _, key := range keys {
		// No early return: the time taken says nothing of which key matched.
		if hmac.Equal(mac(key, it), sig) {
			found = true
		}
	}
	return found
}

func mac(key []byte, it Item) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(SigningString(it)))
	return h.Sum(nil)
}
