package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/reconcile"
)

// reconciliationRequest is a checked GET /v1/reconciliation.
type reconciliationRequest struct {
	window   reconcile.Window
	shape    reconcile.Shape
	encoding reconcile.Encoding
}

// parseReconciliationRequest reads ?from=, ?to= (RFC 3339, from before to)
// and the shape and encoding: ?format=json|csv|financial_transaction_log,
// else the Accept header (text/csv), else JSON. The financial transaction
// log is CSV unless the caller accepts only JSON.
func parseReconciliationRequest(w http.ResponseWriter, r *http.Request) (reconciliationRequest, bool) {
	q := r.URL.Query()
	var req reconciliationRequest
	var bad []string
	parse := func(name string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, q.Get(name))
		if err != nil {
			bad = append(bad, name)
		}
		return t
	}
	req.window.From, req.window.To = parse("from"), parse("to")
	if len(bad) == 0 && !req.window.From.Before(req.window.To) {
		bad = append(bad, "to")
	}
	if len(bad) > 0 {
		writeBadRequest(w, "from and to must be RFC 3339 times, from before to", bad)
		return req, false
	}
	accept := r.Header.Get("Accept")
	wantsCSV := strings.Contains(accept, "text/csv")
	switch q.Get("format") {
	case "":
		if wantsCSV {
			req.encoding = reconcile.EncodingCSV
		}
	case "json":
	case "csv":
		req.encoding = reconcile.EncodingCSV
	case "financial_transaction_log":
		req.shape = reconcile.ShapeFinancialTransactionLog
		if !strings.Contains(accept, "application/json") || wantsCSV {
			req.encoding = reconcile.EncodingCSV
		}
	default:
		writeBadRequest(w, "format must be json, csv or financial_transaction_log", []string{"format"})
		return req, false
	}
	return req, true
}

// handleReconciliation is GET /v1/reconciliation: every remediation started
// in [from, to), for finance to set against the gateway's ledger. It reads
// visibility a page at a time and writes each page before it reads the
// next, so a window of a year costs one page of memory. A failure after
// the first page cannot change the status any more: the connection is cut,
// so that a reader sees a broken body (and no "complete": true), never a
// short export that looks whole.
func (s *server) handleReconciliation(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorizeApprover(w, r); !ok {
		return
	}
	req, ok := parseReconciliationRequest(w, r)
	if !ok {
		return
	}
	exporter := &reconcile.Exporter{
		Client:        s.temporal,
		Namespace:     s.namespace,
		TaskQueue:     s.taskQueue,
		Dispositions:  s.dispositions,
		DataConverter: codec.DataConverter(s.codecKeys),
		CallTimeout:   s.startTimeout,
	}
	first, err := exporter.FirstPage(r.Context(), req.window)
	if err != nil {
		s.temporalFailed(w, r, "reconciliation", err)
		return
	}
	w.Header().Set("Content-Type", req.encoding.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	out := reconcile.NewWriter(w, req.shape, req.encoding)
	// The server's WriteTimeout bounds one ordinary answer; an export may
	// stream for much longer, so each record moves the deadline on: only a
	// reader that stops reading (or Temporal that stops answering) ends it.
	rc := http.NewResponseController(w)
	write := func(rec reconcile.Record) error {
		_ = rc.SetWriteDeadline(time.Now().Add(3*s.startTimeout + 10*time.Second))
		return out.Write(rec)
	}
	err = out.Begin(req.window)
	if err == nil {
		err = exporter.Export(r.Context(), req.window, first, req.shape, write)
	}
	if err == nil {
		err = out.End()
	}
	if err != nil {
		s.logger.WarnContext(r.Context(), "reconciliation export cut off", "error", err)
		panic(http.ErrAbortHandler)
	}
}
