package stripesig

import (
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	secrets := [][]byte{[]byte("whsec_old"), []byte("whsec_new")}
	for name, tc := range map[string]struct {
		header string
		body   []byte
		want   bool
	}{
		"signed":                  {Sign("whsec_new", now.Unix(), body), body, true},
		"signed with the old one": {Sign("whsec_old", now.Unix(), body), body, true},
		"another secret":          {Sign("whsec_x", now.Unix(), body), body, false},
		"another body":            {Sign("whsec_new", now.Unix(), body), []byte(`{}`), false},
		"too old":                 {Sign("whsec_new", now.Add(-Tolerance-time.Second).Unix(), body), body, false},
		"garbage":                 {"t=x,v1=zz", body, false},
	} {
		if got := Verify(tc.header, tc.body, secrets, now); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}
