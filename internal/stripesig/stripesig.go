// Package stripesig signs and verifies Stripe's webhook signatures
// (Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">), once
// for the starter, which verifies them, and the sandbox, which plays Stripe.
package stripesig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a signature's timestamp may be from now (Stripe's
// own libraries use 300 s): a replayed capture is refused.
const Tolerance = 300 * time.Second

// Sign is the Stripe-Signature header of body sent at t under secret.
func Sign(secret string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac([]byte(secret), ts, body))
}

// Verify reports whether header signs body under any of secrets (several
// allow rotation), compared in constant time, with t within Tolerance.
func Verify(header string, body []byte, secrets [][]byte, now time.Time) bool {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 || len(secrets) == 0 {
		return false
	}
	if age := now.Sub(time.Unix(t, 0)); age > Tolerance || age < -Tolerance {
		return false
	}
	found := false
	for _, secret := range secrets {
		want := mac(secret, ts, body)
		for _, sig := range sigs {
			// No early return: the time taken says nothing of which matched.
			if hmac.Equal(want, sig) {
				found = true
			}
		}
	}
	return found
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}
