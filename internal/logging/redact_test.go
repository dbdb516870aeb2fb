package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactKeepsSecretsAndCardsOut(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := New(&buf, "debug", "test").With("client_secret", "s3cr3t-client")
	log.Info("paid with 4111 1111 1111 1111 today",
		"Authorization", "Bearer eyJhbGciOi.abc.def",
		"header", "Authorization: Bearer eyJhbGciOi.abc.def",
		"basic", "Basic YWxpY2U6dG9rZW4=",
		"api_key", "sk_test_123",
		"note", "card 4242-4242-4242-4242 exp 12/30",
		"pan_number", int64(4111111111111111),
		"err", errors.New("gateway said: card 5555555555554444 declined"),
		slog.Group("req", "password", "hunter2", "path", "/v1/dispositions"),
		"customerTokenId", "tok_visa_1234",
		"transactionId", "T-1",
	)
	out := buf.String()
	for _, leak := range []string{"s3cr3t-client", "eyJhbGciOi", "YWxpY2U6dG9rZW4", "sk_test_123", "hunter2",
		"4111 1111 1111 1111", "4242-4242-4242-4242", "4111111111111111", "5555555555554444"} {
		if strings.Contains(out, leak) {
			t.Errorf("log holds %q:\n%s", leak, out)
		}
	}
	for _, keep := range []string{"411111", "1111", "/v1/dispositions", "tok_visa_1234", "T-1", "declined", Redacted} {
		if !strings.Contains(out, keep) {
			t.Errorf("log lost %q:\n%s", keep, out)
		}
	}
}
