package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Adyen's published specs, trimmed to what the sandbox serves and sends
// (testdata/adyen/README.md says from where).
var (
	//go:embed testdata/adyen/checkout-v71.json
	adyenCheckoutSpec []byte
	//go:embed testdata/adyen/webhooks-v1.json
	adyenWebhooksSpec []byte
)

// adyenMaxIdempotencyKey is Adyen's limit on the Idempotency-Key, which
// the spec states in the parameter's description only ("a maximum of 64
// characters"), so the schema check cannot see it.
const adyenMaxIdempotencyKey = 64

// adyenSpecs are both documents, loaded and validated once.
type adyenSpecs struct {
	router   routers.Router
	webhooks *openapi3.T
}

var (
	adyenSpecsOnce sync.Once
	adyenSpecsVal  adyenSpecs
	adyenSpecsErr  error
)

func loadAdyenSpecs() (adyenSpecs, error) {
	adyenSpecsOnce.Do(func() {
		load := func(name string, data []byte) (*openapi3.T, error) {
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(data)
			if err != nil {
				return nil, fmt.Errorf("adyen %s spec: %w", name, err)
			}
			if err := doc.Validate(loader.Context); err != nil {
				return nil, fmt.Errorf("adyen %s spec: %w", name, err)
			}
			return doc, nil
		}
		checkout, err := load("checkout", adyenCheckoutSpec)
		if err != nil {
			adyenSpecsErr = err
			return
		}
		checkout.Servers = openapi3.Servers{{URL: adyenPrefix + "/v71"}}
		router, err := gorillamux.NewRouter(checkout)
		if err != nil {
			adyenSpecsErr = fmt.Errorf("adyen checkout spec: %w", err)
			return
		}
		webhooks, err := load("webhooks", adyenWebhooksSpec)
		if err != nil {
			adyenSpecsErr = err
			return
		}
		adyenSpecsVal = adyenSpecs{router: router, webhooks: webhooks}
	})
	return adyenSpecsVal, adyenSpecsErr
}

// adyenRequestProblem checks a request to the Adyen side against Checkout
// v71: its path and method, its parameters and its JSON body (unknown
// fields included: Adyen's schemas allow none). "" means it conforms; a
// route the spec lacks is left to the handler's 404.
func adyenRequestProblem(r *http.Request, body []byte) (string, error) {
	specs, err := loadAdyenSpecs()
	if err != nil {
		return "", err
	}
	route, pathParams, err := specs.router.FindRoute(r)
	if err != nil {
		return "", nil
	}
	if key := r.Header.Get("Idempotency-Key"); len(key) > adyenMaxIdempotencyKey {
		return fmt.Sprintf("Idempotency-Key is %d characters; the spec allows a maximum of %d", len(key), adyenMaxIdempotencyKey), nil
	}
	check := r.Clone(context.Background())
	check.Body = io.NopCloser(bytes.NewReader(body))
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
		return oneLine(err.Error()), nil
	}
	return "", nil
}

// validateAdyenWebhook checks a notification the sandbox is about to send
// against the webhook of its items' eventCode in Webhooks v1.
func validateAdyenWebhook(body []byte) error {
	specs, err := loadAdyenSpecs()
	if err != nil {
		return err
	}
	var probe struct {
		NotificationItems []struct {
			NotificationRequestItem struct {
				EventCode string `json:"eventCode"`
			} `json:"NotificationRequestItem"`
		} `json:"notificationItems"`
	}
	if err := json.Unmarshal(body, &probe); err != nil || len(probe.NotificationItems) == 0 {
		return errors.New("not a notification with items")
	}
	code := probe.NotificationItems[0].NotificationRequestItem.EventCode
	item := specs.webhooks.Webhooks["/"+code]
	if item == nil || item.Post == nil || item.Post.RequestBody == nil {
		return fmt.Errorf("Webhooks v1 has no %q webhook", code)
	}
	media := item.Post.RequestBody.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		return fmt.Errorf("Webhooks v1 %s has no JSON body", code)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return err
	}
	if err := specs.webhooks.ValidateSchemaJSON(media.Schema.Value, value, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s webhook: %s", code, oneLine(err.Error()))
	}
	return nil
}

// noteSpecViolation counts one violation in the ledger. Callers hold mu.
func (s *Server) noteSpecViolation(what string) {
	s.ledger.Stats.SpecViolations++
	if len(s.ledger.Stats.SpecViolationNotes) < maxSpecViolationNotes {
		s.ledger.Stats.SpecViolationNotes = append(s.ledger.Stats.SpecViolationNotes, what)
	}
	s.dirty = true
}
