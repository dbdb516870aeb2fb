package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/refundflow/refundflow/internal/remediation"
	"github.com/refundflow/refundflow/internal/stack"
	"github.com/refundflow/refundflow/internal/testenv"
)

// TestTemporalUIShowsTheStory opens the Temporal Web UI in headless
// Chromium, with payload encryption on and the UI decoding through the
// starter's codec server, and checks that a completed remediation and one
// awaiting review tell their story: summary, search attributes, current
// details and the decoded input. Screenshots go to .artifacts/ui/.
func TestTemporalUIShowsTheStory(t *testing.T) {
	t.Parallel()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (make test installs Debian's chromium): %v", err)
	}
	keys := "ui1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	w := startWorld(t, stack.Options{UI: true, CodecKeys: keys})
	uiPort := w.Stack.UIPort

	done := testenv.Unique("UI-OK-")
	if r := w.PostDisposition(testenv.Disposition(done, "Refund_Processed", "49.99")); r.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Code, r.Raw)
	}
	w.WaitState(done, remediation.StateCompleted)
	review := testenv.Unique("FAIL-UI-")
	if r := w.PostDisposition(testenv.Disposition(review, "Refund_Processed", "20.00")); r.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Code, r.Raw)
	}
	w.WaitState(review, remediation.StateAwaitingReview)

	shots := filepath.Join(testenv.RepoRoot(t), ".artifacts", "ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1800),
	)...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	// view opens one tab of a workflow's page and waits until it shows all
	// of want (the UI loads the history, then decodes payloads through the
	// codec server), then saves a screenshot.
	view := func(txn, tab string, want []string) {
		t.Helper()
		desc, err := w.Stack.Client.DescribeWorkflowExecution(ctx, remediation.WorkflowID(txn), "")
		if err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows/%s/%s/%s",
			uiPort, remediation.WorkflowID(txn), desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), tab)
		if err := chromedp.Do(browser, chromedp.Navigate(url), chromedp.WaitVisible("body")); err != nil {
			t.Fatalf("browse %s: %v", url, err)
		}
		var text string
		deadline := time.Now().Add(30 * time.Second)
		for {
			if text, err = chromedp.Run(browser, chromedp.Evaluate[string](pageTextJS)); err != nil {
				t.Fatalf("read %s: %v", url, err)
			}
			if missing(text, want) == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		png, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", url, err)
		}
		_ = os.WriteFile(filepath.Join(shots, txn+"-"+tab+".png"), png, 0o644)
		if m := missing(text, want); m != nil {
			t.Errorf("UI %s tab of %s lacks %q; page text:\n%s", tab, txn, m, text)
		}
	}

	// The completed refund: status, decoded input and result, the static
	// summary, the activity summaries, the search attributes.
	view(done, "history", []string{"Completed", "tok_visa_1234", "C-" + done, "rf_"})
	view(done, "user-metadata", []string{"Refund 49.99 USD for transaction " + done, "Submit refund 49.99 USD", "Write refundStatus Completed to Genesys"})
	view(done, "search-attributes", []string{`"RemediationState": "Completed"`, `"TransactionId": "` + done + `"`, `"DispositionCode": "Refund_Processed"`})

	// The one awaiting review: what it waits for, and why.
	view(review, "history", []string{"Running", "C-" + review})
	view(review, "user-metadata", []string{"Refund 20.00 USD for transaction " + review, "Awaiting finance review", "finance-decision", "Remind finance ops (#1)"})
	view(review, "search-attributes", []string{`"RemediationState": "AwaitingReview"`})
}

// pageTextJS is the visible text of the page plus that of its iframes.
const pageTextJS = `document.body.innerText + "\n" + Array.from(document.querySelectorAll("iframe")).map(f => {
  try { return f.contentDocument.body.innerText } catch (e) { return f.srcdoc || "" }
}).join("\n")`

func missing(text string, want []string) []string {
	var m []string
	for _, s := range want {
		if !strings.Contains(text, s) {
			m = append(m, s)
		}
	}
	return m
}
