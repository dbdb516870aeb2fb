package activities

import (
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// renewingSource caches one access token and fetches the next before the
// cached one expires: tokenEarlyExpiry ahead, or after three quarters of its
// lifetime when it lives shorter than four times that. A fixed margin alone
// makes a token that lives a minute or less (some gateways issue such, and
// the sandbox does by default) expired on arrival, so every call would
// first fetch a token: twice the requests and twice the latency.
type renewingSource struct {
	fetch func() (*oauth2.Token, error)
	now   func() time.Time

	// mu is held while fetching, so concurrent callers wait for one fetch
	// instead of each asking the endpoint.
	mu      sync.Mutex
	tok     *oauth2.Token
	renewAt time.Time
}

func (s *renewingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (s.renewAt.IsZero() || s.now().Before(s.renewAt)) {
		return s.tok, nil
	}
	fetched := s.now()
	tok, err := s.fetch()
	if err != nil {
		return nil, err
	}
	s.tok, s.renewAt = tok, renewalTime(fetched, tok.Expiry)
	return tok, nil
}

// renewalTime is when a token fetched at fetched and expiring at expiry is
// due for renewal; zero for a token without expiry, which is kept until a
// 401 says otherwise.
func renewalTime(fetched, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	margin := max(min(tokenEarlyExpiry, expiry.Sub(fetched)/4), 0)
	return expiry.Add(-margin)
}
