package stripesig

import (
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	secrets := [][]byte{[]byte("whsec_being_rotated_out"), []byte("whsec_new")}
	sign := func(secret string, at time.Time) string { return Sign(secret, at.Unix(), body) }
	for name, tc := range map[string]struct {
		header string
		body   []byte
		want   bool
	}{
		"current secret":           {sign("whsec_new", now), body, true},
		"secret being rotated out": {sign("whsec_being_rotated_out", now), body, true},
		"a second v1 that matches": {sign("whsec_new", now) + ",v1=00ff", body, true},
		"unknown secret":           {sign("whsec_other", now), body, false},
		"body changed":             {sign("whsec_new", now), []byte(`{"id":"evt_2"}`), false},
		"older than 300 s":         {sign("whsec_new", now.Add(-Tolerance-time.Second)), body, false},
		"from the future":          {sign("whsec_new", now.Add(Tolerance+time.Second)), body, false},
		"no timestamp":             {"v1=" + strings.Repeat("00", 32), body, false},
		"garbage":                  {"t=x,v1=zz", body, false},
		"empty":                    {"", body, false},
	} {
		if got := Verify(tc.header, tc.body, secrets, now); got != tc.want {
			t.Errorf("%s: verified %v, want %v", name, got, tc.want)
		}
	}
	if Verify(sign("whsec_new", now), body, nil, now) {
		t.Error("verified with no secret configured")
	}
}
