// Package reconcile answers finance's question "does our record match the
// gateway's?": Exporter lists every remediation started in a time window
// with what it did about money, page by page through visibility, and
// Compare sets such a list against a gateway's own records (gateway.go).
// The starter serves the export (GET /v1/reconciliation); cmd/reconcile
// compares it.
package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/refundflow/refundflow/internal/money"
	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/temporalclient"
)

// Record is one remediation run as the export lists it. The money fields
// come from the run itself: the status query while it runs, its result
// once it completed. Source says which ("query", "result"), or
// "visibility" when neither answered (no worker; a run that was
// terminated, failed or timed out has no result): then only the state,
// action and times are known.
type Record struct {
	TransactionID    string                       `json:"transactionId"`
	WorkflowID       string                       `json:"workflowId"`
	RunID            string                       `json:"runId"`
	State            string                       `json:"state"`
	Action           string                       `json:"action,omitempty"`
	DispositionCode  string                       `json:"dispositionCode,omitempty"`
	Amount           string                       `json:"amount,omitempty"`
	AmountMinor      int64                        `json:"amountMinor"`
	Currency         string                       `json:"currency,omitempty"`
	GatewayReference string                       `json:"gatewayReference,omitempty"`
	GatewayStatus    string                       `json:"gatewayStatus,omitempty"`
	Attempts         int                          `json:"attempts"`
	Decisions        []remediation.DecisionRecord `json:"decisions"`
	StartTime        time.Time                    `json:"startTime"`
	CloseTime        *time.Time                   `json:"closeTime,omitempty"`
	Source           string                       `json:"source"`
	// CustomerTokenID and DispositionTimestamp are the disposition's, read
	// from the run's first event; only the financial-transaction-log shape
	// reads them.
	CustomerTokenID      string `json:"-"`
	DispositionTimestamp string `json:"-"`
}

// Where a Record's details came from.
const (
	SourceQuery      = "query"
	SourceResult     = "result"
	SourceVisibility = "visibility"
	SourceStartEvent = "start-event"
)

// Shape is what an export holds besides what visibility knows.
type Shape int

const (
	// ShapeRemediations reads each run's status: amount, gateway
	// reference, attempts, decisions.
	ShapeRemediations Shape = iota
	// ShapeFinancialTransactionLog reads each run's disposition: the
	// seed's Financial_Transaction_Log (Transaction_ID, Disposition_Code,
	// Customer_Token_ID, Timestamp).
	ShapeFinancialTransactionLog
)

// Window is [From, To) on the start time of the runs.
type Window struct{ From, To time.Time }

// Exporter lists remediations from visibility. The zero values of the
// tunables are the defaults below.
type Exporter struct {
	Client    client.Client
	Namespace string
	TaskQueue string
	// Dispositions maps a disposition code to its action (the starter's
	// REFUNDFLOW_DISPOSITIONS).
	Dispositions map[string]remediation.Action
	// DataConverter decodes the start event's input: the codec's, when
	// payloads are encrypted.
	DataConverter converter.DataConverter
	// PageSize runs are read from visibility at a time, and their details
	// fetched Concurrency at a time, each call bounded by CallTimeout.
	PageSize    int
	Concurrency int
	CallTimeout time.Duration
}

// Defaults of the Exporter's tunables: a page is one visibility call and
// at most 100 small reads, so memory stays one page whatever the window.
const (
	DefaultPageSize    = 100
	DefaultConcurrency = 8
	DefaultCallTimeout = 5 * time.Second
)

// Query is the visibility query of the remediations of a task queue
// started in w: only the latest run of a remediation that continued as
// new (the earlier runs hold nothing the latest does not).
func Query(taskQueue string, w Window) string {
	return "WorkflowType = " + quote(remediation.WorkflowType) +
		" AND TaskQueue = " + quote(taskQueue) +
		" AND ExecutionStatus != 'ContinuedAsNew'" +
		" AND StartTime >= " + quote(w.From.UTC().Format(time.RFC3339Nano)) +
		" AND StartTime < " + quote(w.To.UTC().Format(time.RFC3339Nano))
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Page is one visibility page of runs; Next is empty on the last.
type Page struct {
	Executions []*workflowpb.WorkflowExecutionInfo
	Next       []byte
}

// FirstPage reads the first page, so that a caller can answer an error
// (Temporal down, say) before it has written anything.
func (e *Exporter) FirstPage(ctx context.Context, w Window) (Page, error) {
	return e.page(ctx, w, nil)
}

func (e *Exporter) page(ctx context.Context, w Window, token []byte) (Page, error) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout())
	defer cancel()
	resp, err := e.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace:     e.Namespace,
		PageSize:      int32(e.pageSize()),
		NextPageToken: token,
		Query:         Query(e.TaskQueue, w),
	})
	if err != nil {
		return Page{}, fmt.Errorf("list remediations started %s to %s: %w", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), err)
	}
	return Page{Executions: resp.GetExecutions(), Next: resp.GetNextPageToken()}, nil
}

// Export emits every run started in w, in visibility's order, page by
// page from first (FirstPage's answer), with the details shape asks for.
// It stops at the first error of visibility or of emit; a run whose
// details cannot be read is emitted with what visibility knows.
func (e *Exporter) Export(ctx context.Context, w Window, first Page, shape Shape, emit func(Record) error) error {
	page := first
	for {
		records := e.details(ctx, page.Executions, shape)
		for _, rec := range records {
			if err := emit(rec); err != nil {
				return err
			}
		}
		if len(page.Next) == 0 {
			return nil
		}
		next, err := e.page(ctx, w, page.Next)
		if err != nil {
			return err
		}
		page = next
	}
}

// details reads one page's runs, Concurrency at a time, in their order.
func (e *Exporter) details(ctx context.Context, infos []*workflowpb.WorkflowExecutionInfo, shape Shape) []Record {
	out := make([]Record, len(infos))
	sem := make(chan struct{}, e.concurrency())
	var wg sync.WaitGroup
	for i, info := range infos {
		out[i] = e.fromVisibility(info)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if shape == ShapeFinancialTransactionLog {
				e.addDisposition(ctx, &out[i])
			} else {
				e.addStatus(ctx, &out[i], info.GetStatus())
			}
		}()
	}
	wg.Wait()
	return out
}

func (e *Exporter) fromVisibility(info *workflowpb.WorkflowExecutionInfo) Record {
	attrs := info.GetSearchAttributes().GetIndexedFields()
	rec := Record{
		WorkflowID:      info.GetExecution().GetWorkflowId(),
		RunID:           info.GetExecution().GetRunId(),
		TransactionID:   temporalclient.Keyword(attrs, remediation.AttrTransactionID),
		State:           temporalclient.Keyword(attrs, remediation.AttrState),
		DispositionCode: temporalclient.Keyword(attrs, remediation.AttrDispositionCode),
		StartTime:       info.GetStartTime().AsTime().UTC(),
		Decisions:       []remediation.DecisionRecord{},
		Source:          SourceVisibility,
	}
	if rec.TransactionID == "" {
		rec.TransactionID = strings.TrimPrefix(rec.WorkflowID, remediation.WorkflowIDPrefix)
	}
	if action, ok := e.Dispositions[rec.DispositionCode]; ok {
		rec.Action = string(action)
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && info.GetCloseTime() != nil {
		closed := info.GetCloseTime().AsTime().UTC()
		rec.CloseTime = &closed
	}
	return rec
}

// addStatus fills the money fields from the run: its status query while
// it runs, its result once it completed.
func (e *Exporter) addStatus(ctx context.Context, rec *Record, status enumspb.WorkflowExecutionStatus) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout())
	defer cancel()
	var st remediation.Status
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		v, err := e.Client.QueryWorkflow(ctx, rec.WorkflowID, rec.RunID, remediation.StatusQuery)
		if err != nil || v.Get(&st) != nil {
			return
		}
		rec.Source = SourceQuery
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		if err := e.Client.GetWorkflow(ctx, rec.WorkflowID, rec.RunID).Get(ctx, &st); err != nil {
			return
		}
		rec.Source = SourceResult
	default:
		return
	}
	rec.State = string(st.State)
	if st.Action != "" {
		rec.Action = string(st.Action)
	}
	rec.AmountMinor = st.AmountMinor
	rec.Currency = st.Currency
	if major, err := money.FormatMajor(st.AmountMinor, st.Currency); err == nil && st.Currency != "" {
		rec.Amount = major
	}
	rec.GatewayReference = st.GatewayReference
	rec.GatewayStatus = st.GatewayStatus
	rec.Attempts = st.Attempts
	if st.Decisions != nil {
		rec.Decisions = st.Decisions
	}
}

// addDisposition fills the disposition's fields from the run's first
// event, which needs no worker.
func (e *Exporter) addDisposition(ctx context.Context, rec *Record) {
	ctx, cancel := context.WithTimeout(ctx, e.callTimeout())
	defer cancel()
	d, err := temporalclient.StartedDisposition(ctx, e.Client, e.dataConverter(), rec.WorkflowID, rec.RunID)
	if err != nil {
		return
	}
	rec.CustomerTokenID = d.CustomerTokenID
	rec.DispositionTimestamp = d.Timestamp
	if rec.DispositionCode == "" {
		rec.DispositionCode = d.DispositionCode
	}
	rec.Source = SourceStartEvent
}

func (e *Exporter) pageSize() int {
	if e.PageSize > 0 {
		return e.PageSize
	}
	return DefaultPageSize
}

func (e *Exporter) concurrency() int {
	if e.Concurrency > 0 {
		return e.Concurrency
	}
	return DefaultConcurrency
}

func (e *Exporter) callTimeout() time.Duration {
	if e.CallTimeout > 0 {
		return e.CallTimeout
	}
	return DefaultCallTimeout
}

func (e *Exporter) dataConverter() converter.DataConverter {
	if e.DataConverter != nil {
		return e.DataConverter
	}
	return converter.GetDefaultDataConverter()
}
