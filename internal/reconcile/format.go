package reconcile

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Encoding is how an export is written.
type Encoding int

const (
	EncodingJSON Encoding = iota
	EncodingCSV
)

// ContentType is the encoding's media type.
func (e Encoding) ContentType() string {
	if e == EncodingCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// Writer writes an export row by row, so that a big window streams: Begin
// once, Write each record, End once the last was written. Only End writes
// the JSON's closing "complete": true, so a reader can tell a cut-off
// export from a whole one.
type Writer interface {
	Begin(w Window) error
	Write(rec Record) error
	End() error
}

// NewWriter returns the writer of a shape in an encoding.
func NewWriter(out io.Writer, shape Shape, enc Encoding) Writer {
	buf := bufio.NewWriter(out)
	switch {
	case enc == EncodingCSV:
		return &csvWriter{buf: buf, csv: csv.NewWriter(buf), shape: shape}
	default:
		return &jsonWriter{buf: buf, shape: shape}
	}
}

// RemediationsCSVHeader is the CSV header of ShapeRemediations; decisions
// is the JSON array of the status's decision records.
var RemediationsCSVHeader = []string{"transactionId", "workflowId", "runId", "state", "action", "dispositionCode",
	"amount", "amountMinor", "currency", "gatewayReference", "gatewayStatus", "attempts", "decisions",
	"startTime", "closeTime", "source"}

// FinancialTransactionLogHeader is the seed's Financial_Transaction_Log.
var FinancialTransactionLogHeader = []string{"Transaction_ID", "Disposition_Code", "Customer_Token_ID", "Timestamp"}

// FinancialTransactionLogEntry is one row of the seed's log. Timestamp is
// the disposition's (Genesys's, or the starter's receive time).
type FinancialTransactionLogEntry struct {
	TransactionID   string `json:"Transaction_ID"`
	DispositionCode string `json:"Disposition_Code"`
	CustomerTokenID string `json:"Customer_Token_ID"`
	Timestamp       string `json:"Timestamp"`
}

func logEntry(rec Record) FinancialTransactionLogEntry {
	ts := rec.DispositionTimestamp
	if ts == "" {
		ts = rec.StartTime.Format(time.RFC3339Nano)
	}
	return FinancialTransactionLogEntry{rec.TransactionID, rec.DispositionCode, rec.CustomerTokenID, ts}
}

type csvWriter struct {
	buf   *bufio.Writer
	csv   *csv.Writer
	shape Shape
	rows  int
}

func (c *csvWriter) Begin(Window) error {
	header := RemediationsCSVHeader
	if c.shape == ShapeFinancialTransactionLog {
		header = FinancialTransactionLogHeader
	}
	return c.csv.Write(header)
}

func (c *csvWriter) Write(rec Record) error {
	var row []string
	if c.shape == ShapeFinancialTransactionLog {
		e := logEntry(rec)
		row = []string{e.TransactionID, e.DispositionCode, e.CustomerTokenID, e.Timestamp}
	} else {
		decisions, err := json.Marshal(rec.Decisions)
		if err != nil {
			return err
		}
		closed := ""
		if rec.CloseTime != nil {
			closed = rec.CloseTime.Format(time.RFC3339Nano)
		}
		row = []string{rec.TransactionID, rec.WorkflowID, rec.RunID, rec.State, rec.Action, rec.DispositionCode,
			rec.Amount, strconv.FormatInt(rec.AmountMinor, 10), rec.Currency, rec.GatewayReference, rec.GatewayStatus,
			strconv.Itoa(rec.Attempts), string(decisions), rec.StartTime.Format(time.RFC3339Nano), closed, rec.Source}
	}
	if err := c.csv.Write(row); err != nil {
		return err
	}
	return c.flushEvery()
}

// flushEvery sends what is buffered every 100 rows, so a long export
// reaches its reader as it goes.
func (c *csvWriter) flushEvery() error {
	c.rows++
	if c.rows%100 != 0 {
		return nil
	}
	c.csv.Flush()
	if err := c.csv.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

func (c *csvWriter) End() error {
	c.csv.Flush()
	if err := c.csv.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

type jsonWriter struct {
	buf   *bufio.Writer
	shape Shape
	rows  int
}

func (j *jsonWriter) Begin(w Window) error {
	key := "remediations"
	if j.shape == ShapeFinancialTransactionLog {
		key = "financialTransactionLog"
	}
	_, err := fmt.Fprintf(j.buf, `{"from":%q,"to":%q,"window":"startTime",%q:[`,
		w.From.UTC().Format(time.RFC3339Nano), w.To.UTC().Format(time.RFC3339Nano), key)
	return err
}

func (j *jsonWriter) Write(rec Record) error {
	var v any = rec
	if j.shape == ShapeFinancialTransactionLog {
		v = logEntry(rec)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if j.rows > 0 {
		if err := j.buf.WriteByte(','); err != nil {
			return err
		}
	}
	if _, err := j.buf.Write(append([]byte("\n"), body...)); err != nil {
		return err
	}
	j.rows++
	if j.rows%100 == 0 {
		return j.buf.Flush()
	}
	return nil
}

func (j *jsonWriter) End() error {
	if _, err := fmt.Fprintf(j.buf, "\n],\"count\":%d,\"complete\":true}\n", j.rows); err != nil {
		return err
	}
	return j.buf.Flush()
}

// Export is a ShapeRemediations export as JSON, as a reader decodes it.
type Export struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Window       string    `json:"window"`
	Remediations []Record  `json:"remediations"`
	Count        int       `json:"count"`
	Complete     bool      `json:"complete"`
}
