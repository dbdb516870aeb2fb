package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/pci"
)

// requestInfo is what a handler learns that the access log should show.
// The middleware puts an empty one in the request context; the handler
// fills it in once the transaction ID has passed validation and the
// cardholder-data screen.
type requestInfo struct {
	transactionID string
	// cardDataRejected: the answer is the 422 of the cardholder-data screen.
	cardDataRejected bool
}

type requestInfoKey struct{}

func noteTransactionID(ctx context.Context, txn string) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		info.transactionID = txn
	}
}

// noteCardDataRejected marks the answer as the cardholder-data screen's,
// for the card-data rejections counter.
func noteCardDataRejected(ctx context.Context) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		info.cardDataRejected = true
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one JSON line per request: method, path, status,
// duration and the transaction ID when known. It never logs a body, a
// header or the query string (where a careless caller might put a token),
// and it masks card-number-like runs in the path, since a transaction ID
// in a URL passes the ID pattern even when it is a card number.
//
// It also turns a panic into a plain 500, so no stack reaches a caller.
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", pci.Mask(r.URL.Path), "panic", pci.Mask(slogValue(v)))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			// The mux has set r.Pattern by now: a bounded route label, never
			// the path with its transaction ID.
			s.metrics.answered(r.Pattern, status, time.Since(start), info.cardDataRejected)
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path)),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			}
			if info.transactionID != "" {
				attrs = append(attrs, slog.String("transactionId", info.transactionID))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelWarn
			}
			s.logger.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

func slogValue(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return "non-error panic"
}

// loggedPath is the path as the access log shows it: card-like digit runs
// masked, and the codec's path token (/codec/<token>/decode) replaced.
func loggedPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/codec/"); ok {
		if _, op, found := strings.Cut(rest, "/"); found {
			return "/codec/[REDACTED]/" + op
		}
	}
	return pci.Mask(p)
}
