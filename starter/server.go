package main

import (
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/refundflow/refundflow/internal/codec"
	"github.com/refundflow/refundflow/internal/remediation"
)

// maxQueryTimeout bounds the status query: a workflow with no worker to
// answer it should cost a caller seconds, not the whole start budget.
const maxQueryTimeout = 3 * time.Second

// server holds what the handlers need; main (or a test) builds it, so
// nothing is global and tests run side by side.
type server struct {
	temporal     client.Client
	taskQueue    string
	namespace    string
	webhook      tokenSet
	approvers    approverSet
	dispositions map[string]remediation.Action
	currency     string
	startTimeout time.Duration
	queryTimeout time.Duration
	logger       *slog.Logger
	now          func() time.Time
	codecKeys    *codec.Keyring
	codecOrigins []string
	// gatewayEvents are the ERP webhook's tokens, stripeSecrets Stripe's
	// webhook signing secrets; empty refuses every such event.
	gatewayEvents tokenSet
	stripeSecrets [][]byte
	adyenHMACKeys [][]byte
	adyenBasic    *adyenBasicAuth
	paypal        webhookVerifier
	// metrics is nil when REFUNDFLOW_METRICS_ADDRESS is empty.
	metrics *starterMetrics
}

func newServer(st settings, c client.Client, logger *slog.Logger) *server {
	return &server{
		temporal:     c,
		taskQueue:    st.taskQueue,
		namespace:    st.namespace,
		webhook:      st.webhook,
		approvers:    st.approvers,
		dispositions: st.dispositions,
		currency:     st.currency,
		startTimeout: st.startTimeout,
		queryTimeout: min(st.startTimeout, maxQueryTimeout),
		logger:       logger,
		now:          time.Now,
		codecKeys:    st.codecKeys,
		codecOrigins: st.codecOrigins,

		gatewayEvents: st.gatewayEvents,
		stripeSecrets: st.stripeSecrets,
		adyenHMACKeys: st.adyenHMACKeys,
		adyenBasic:    st.adyenBasic,
		paypal:        st.paypal,
	}
}

// routes is the whole HTTP API.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/dispositions", s.handleDisposition)
	mux.HandleFunc("GET /v1/remediations", s.handleList)
	mux.HandleFunc("GET /v1/reconciliation", s.handleReconciliation)
	mux.HandleFunc("GET /v1/remediations/{transactionId}", s.handleStatus)
	mux.HandleFunc("POST /v1/remediations/{transactionId}/decision", s.handleDecision)
	mux.HandleFunc("POST /v1/gateway-events/erp", s.handleERPEvent)
	mux.HandleFunc("POST /v1/gateway-events/stripe", s.handleStripeEvent)
	mux.HandleFunc("POST /v1/gateway-events/adyen", s.handleAdyenEvent)
	mux.HandleFunc("POST /v1/gateway-events/paypal", s.handlePayPalEvent)
	mux.HandleFunc("POST /v1/genesys-events/workitem", s.handleWorkitemEvent)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.codecKeys != nil {
		// The Temporal UI and CLI decode encrypted payloads here, with an
		// approver token: decoded payloads hold customer data.
		mux.Handle("/codec/", http.StripPrefix("/codec", codec.Handler(s.codecKeys, codec.ServerOptions{
			AllowedOrigins: s.codecOrigins,
			Authorize: func(token string) bool {
				_, ok := s.approvers.lookup(newSecret(token))
				return ok
			},
		})))
	}
	return s.accessLog(mux)
}
