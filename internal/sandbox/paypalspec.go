package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/dlclark/regexp2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// PayPal's published OpenAPI documents, trimmed to what the sandbox's
// PayPal serves (testdata/PAYPAL-SPECS.md says from where and how).
var (
	//go:embed testdata/paypal-payments-v2.trimmed.json
	paypalPaymentsOpenAPI []byte
	//go:embed testdata/paypal-notifications-webhooks-v1.trimmed.json
	paypalWebhooksOpenAPI []byte
)

// ecmaPattern compiles a schema's pattern as ECMA-262, the dialect
// OpenAPI's patterns are written in. PayPal's webhook spec needs it: the
// verify request's transmission_id and transmission_sig patterns,
// ^(?!\d+$)\w+\S+, hold a lookahead, which Go's RE2 refuses outright.
func ecmaPattern(expr string) (openapi3.RegexMatcher, error) {
	re, err := regexp2.Compile(expr, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaMatcher{re}, nil
}

type ecmaMatcher struct{ re *regexp2.Regexp }

func (m ecmaMatcher) MatchString(s string) bool {
	ok, err := m.re.MatchString(s)
	return ok && err == nil
}

// paypalSpec is both documents loaded and routed at /paypal.
type paypalSpec struct {
	payments, webhooks             *openapi3.T
	paymentsRouter, webhooksRouter routers.Router
}

var (
	paypalSpecOnce   sync.Once
	paypalSpecLoaded *paypalSpec
	paypalSpecErr    error
)

// loadPayPalSpec loads the documents once; they never change at run time.
func loadPayPalSpec() (*paypalSpec, error) {
	paypalSpecOnce.Do(func() {
		load := func(name string, data []byte, opts ...openapi3.ValidationOption) (*openapi3.T, routers.Router, error) {
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(data)
			if err != nil {
				return nil, nil, fmt.Errorf("paypal %s spec: %w", name, err)
			}
			doc.Servers = openapi3.Servers{{URL: paypalPrefix}}
			if err := doc.Validate(loader.Context, append(opts, openapi3.SetRegexCompiler(ecmaPattern))...); err != nil {
				return nil, nil, fmt.Errorf("paypal %s spec: %w", name, err)
			}
			router, err := gorillamux.NewRouter(doc)
			return doc, router, err
		}
		spec := &paypalSpec{}
		var err error
		if spec.payments, spec.paymentsRouter, err = load("payments", paypalPaymentsOpenAPI); err != nil {
			paypalSpecErr = err
			return
		}
		if spec.webhooks, spec.webhooksRouter, err = load("webhooks", paypalWebhooksOpenAPI,
			// The verify operation's own example sends the event's readOnly
			// fields, which its schema forbids in a request: PayPal's example
			// is right (the event goes back as received), so the examples
			// are not held to that rule. See requestProblem.
			openapi3.DisableExamplesValidation()); err != nil {
			paypalSpecErr = err
			return
		}
		paypalSpecLoaded = spec
	})
	return paypalSpecLoaded, paypalSpecErr
}

// requestProblem validates a request against whichever document has its
// route; "" when it conforms, or when neither document has the route (the
// token endpoint, the Orders read: the handler answers those).
func (p *paypalSpec) requestProblem(r *http.Request, body []byte) string {
	route, pathParams, err := p.paymentsRouter.FindRoute(r)
	webhooks := false
	if err != nil {
		if route, pathParams, err = p.webhooksRouter.FindRoute(r); err != nil {
			return ""
		}
		webhooks = true
	}
	check := r.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		check.Body = http.NoBody
		check.Header.Del("Content-Type")
	}
	err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request:    check,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
			RegexCompiler:      ecmaPattern,
			// The verify request carries the event exactly as PayPal sent
			// it, whose fields the event schema marks readOnly (they are
			// PayPal's to set). PayPal's own example request has them, so
			// that one rule is a spec artifact there; everywhere else it
			// holds.
			ExcludeReadOnlyValidations: webhooks,
		},
	})
	if err != nil {
		return oneLine(err.Error())
	}
	return ""
}

// schemaProblem validates a JSON value PayPal sends (a refund, a capture,
// a webhook event) against a schema of doc, as a response: readOnly
// fields belong there.
func schemaProblem(doc *openapi3.T, schema string, body []byte) string {
	ref := doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return "no schema " + schema
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "not JSON: " + err.Error()
	}
	if err := ref.Value.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors(), openapi3.SetSchemaRegexCompiler(ecmaPattern)); err != nil {
		return schema + ": " + oneLine(err.Error())
	}
	return ""
}

// checkPayPalSpec validates the request before any handler sees it. A
// request PayPal would refuse is answered as PayPal does (400
// INVALID_REQUEST) and counted in stats.specViolations.
func (s *Server) checkPayPalSpec(w http.ResponseWriter, r *http.Request) bool {
	spec, err := loadPayPalSpec()
	if err != nil {
		paypalFail(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "", err.Error())
		return false
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			paypalFail(w, http.StatusBadRequest, "INVALID_REQUEST", "MALFORMED_REQUEST", "could not read the request body")
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	problem := spec.requestProblem(r, body)
	if problem == "" {
		return true
	}
	s.recordSpecViolation(fmt.Sprintf("paypal %s %s: %s", r.Method, strings.TrimPrefix(r.URL.Path, paypalPrefix), problem))
	paypalFail(w, http.StatusBadRequest, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX",
		"Request is not well-formed, syntactically incorrect, or violates schema: "+problem)
	return false
}

// recordSpecViolation counts one violation and keeps its words (the first
// few). Callers do not hold mu.
func (s *Server) recordSpecViolation(note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countSpecViolation(note)
}

// countSpecViolation is recordSpecViolation for callers holding mu.
func (s *Server) countSpecViolation(note string) {
	s.ledger.Stats.SpecViolations++
	if len(s.ledger.Stats.SpecViolationNotes) < maxSpecViolationNotes {
		s.ledger.Stats.SpecViolationNotes = append(s.ledger.Stats.SpecViolationNotes, note)
	}
	s.dirty = true
}
