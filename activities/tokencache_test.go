package activities

import (
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// clockedSource is a renewingSource on a clock the test moves, in front of
// an endpoint issuing tokens that live for lifetime (0: no expiry).
func clockedSource(lifetime time.Duration) (*renewingSource, *time.Time, *int) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fetches := 0
	s := &renewingSource{now: func() time.Time { return now }}
	s.fetch = func() (*oauth2.Token, error) {
		fetches++
		tok := &oauth2.Token{AccessToken: token(fetches)}
		if lifetime > 0 {
			tok.Expiry = now.Add(lifetime)
		}
		return tok, nil
	}
	return s, &now, &fetches
}

func TestRenewingSourceRenewsEarly(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name           string
		lifetime       time.Duration
		reused, renews time.Duration
	}{
		// A long-lived token is renewed the fixed margin before it expires.
		{"an hour", time.Hour, time.Hour - tokenEarlyExpiry - time.Second, time.Hour - tokenEarlyExpiry},
		// A short-lived one after three quarters of its life, not at once.
		{"a minute", time.Minute, 44 * time.Second, 45 * time.Second},
		{"three seconds", 3 * time.Second, 2 * time.Second, 2250 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, now, fetches := clockedSource(c.lifetime)
			start := *now
			first, _ := s.Token()
			*now = start.Add(c.reused)
			if tok, _ := s.Token(); tok != first || *fetches != 1 {
				t.Errorf("at %s: %d fetches, want the first token reused", c.reused, *fetches)
			}
			*now = start.Add(c.renews)
			if tok, _ := s.Token(); tok == first || *fetches != 2 {
				t.Errorf("at %s: %d fetches, want a new token", c.renews, *fetches)
			}
		})
	}
}

func TestRenewingSourceKeepsATokenWithoutExpiry(t *testing.T) {
	t.Parallel()
	s, now, fetches := clockedSource(0)
	first, _ := s.Token()
	*now = now.Add(1000 * time.Hour)
	if tok, _ := s.Token(); tok != first || *fetches != 1 {
		t.Errorf("%d fetches; a token without expiry is kept until a 401", *fetches)
	}
}
