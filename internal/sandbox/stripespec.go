package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// stripeOpenAPI is the part of Stripe's OpenAPI spec the Stripe side
// serves: from stripe-mock v0.203.0's embedded/openapi/spec3.json (API
// version 2026-08-26.dahlia, the worker's StripeAPIVersion), trimmed by
// internal/trimspec to the served operations' parameters and request
// bodies. Regenerate it with the command in internal/trimspec/main.go.
//
//go:embed stripe_openapi.json
var stripeOpenAPI []byte

// maxSpecViolationNotes bounds the violations the ledger keeps in words.
const maxSpecViolationNotes = 50

var (
	stripeSpecOnce   sync.Once
	stripeSpecRouter routers.Router
	stripeSpecErr    error
)

// stripeRouter loads the spec once, served at /stripe.
func stripeRouter() (routers.Router, error) {
	stripeSpecOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(stripeOpenAPI)
		if err != nil {
			stripeSpecErr = fmt.Errorf("stripe spec: %w", err)
			return
		}
		doc.Servers = openapi3.Servers{{URL: stripePrefix}}
		if err := doc.Validate(loader.Context); err != nil {
			stripeSpecErr = fmt.Errorf("stripe spec: %w", err)
			return
		}
		stripeSpecRouter, stripeSpecErr = gorillamux.NewRouter(doc)
	})
	return stripeSpecRouter, stripeSpecErr
}

// checkStripeSpec validates the request against Stripe's spec: its path
// and method, path and query parameters (and, as Stripe does, no query
// parameter the operation does not declare), and the form body. A request
// Stripe would refuse is answered as Stripe does, 400 invalid_request_error,
// and counted in stats.specViolations; a route the spec lacks is left to
// the handler's 404.
func (s *Server) checkStripeSpec(w http.ResponseWriter, r *http.Request) bool {
	router, err := stripeRouter()
	if err != nil {
		stripeFail(w, http.StatusInternalServerError, "api_error", "", "", err.Error())
		return false
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "", "could not read the request body")
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, pathParams, err := router.FindRoute(r)
	if err != nil {
		// Not an operation of the spec: the handler answers 404 as Stripe does.
		return true
	}
	check := r.Clone(r.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 && r.Method == http.MethodGet {
		check.Body = http.NoBody
		check.Header.Del("Content-Type")
	}
	problem := unknownQueryParams(route, r)
	if problem == "" {
		problem = unknownBodyParams(route, r, body)
	}
	if problem == "" {
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request:    check,
			PathParams: pathParams,
			Route:      route,
			Options: &openapi3filter.Options{
				AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				MultiError:         true,
			},
		})
		if err != nil {
			problem = oneLine(err.Error())
		}
	}
	if problem == "" {
		return true
	}
	s.mu.Lock()
	s.ledger.Stats.SpecViolations++
	if len(s.ledger.Stats.SpecViolationNotes) < maxSpecViolationNotes {
		s.ledger.Stats.SpecViolationNotes = append(s.ledger.Stats.SpecViolationNotes,
			fmt.Sprintf("%s %s: %s", r.Method, strings.TrimPrefix(r.URL.Path, stripePrefix), problem))
	}
	s.dirty = true
	s.mu.Unlock()
	stripeFail(w, http.StatusBadRequest, "invalid_request_error", "", "", "Invalid request (does not match Stripe's API spec): "+problem)
	return false
}

// unknownQueryParams names query parameters the operation does not
// declare ("expand[0]" counts as expand): Stripe refuses them, and
// OpenAPI alone does not.
func unknownQueryParams(route *routers.Route, r *http.Request) string {
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var unknown []string
	for k := range r.URL.Query() {
		name, _, _ := strings.Cut(k, "[")
		if !declared[name] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	sort.Strings(unknown)
	return "Received unknown parameter: " + strings.Join(unknown, ", ")
}

// unknownBodyParams names form fields the operation's body schema does
// not have when it allows no others (additionalProperties: false, as all
// of Stripe's do): kin-openapi's form decoder skips them unseen.
func unknownBodyParams(route *routers.Route, r *http.Request, body []byte) string {
	if len(body) == 0 || route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil {
		return ""
	}
	media := route.Operation.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return ""
	}
	schema := media.Schema.Value
	if schema.AdditionalProperties.Has == nil || *schema.AdditionalProperties.Has {
		return ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "the body is not form-encoded: " + err.Error()
	}
	var unknown []string
	for k := range form {
		name, _, _ := strings.Cut(k, "[")
		if _, ok := schema.Properties[name]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	sort.Strings(unknown)
	return "Received unknown parameter: " + strings.Join(unknown, ", ")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}
