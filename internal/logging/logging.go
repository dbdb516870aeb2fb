// Package logging builds the slog logger every program uses: JSON lines at the
// level REFUNDFLOW_LOG_LEVEL asks for, redacted (see Redact).
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// New returns a JSON logger for a program named service, with secrets and
// card numbers redacted from every line.
func New(w io.Writer, level, service string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(Redact(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))).With("service", service)
}
