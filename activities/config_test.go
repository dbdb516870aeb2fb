package activities

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// TestConfigFromEnvironment reads both structs the way the worker does,
// with prefix REFUNDFLOW. t.Setenv keeps this test out of the parallel ones.
func TestConfigFromEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"REFUNDFLOW_GATEWAY_REFUND_URL":     "https://erp.example.com/refunds",
		"REFUNDFLOW_GATEWAY_CHARGEBACK_URL": "https://erp.example.com/chargebacks",
		"REFUNDFLOW_GATEWAY_TOKEN_URL":      "https://erp.example.com/oauth/token",
		"REFUNDFLOW_GATEWAY_CLIENT_ID":      "id",
		"REFUNDFLOW_GATEWAY_CLIENT_SECRET":  "secret",
		"REFUNDFLOW_GATEWAY_SCOPES":         "refunds.write,chargebacks.write",
		"REFUNDFLOW_GENESYS_API_URL":        "https://api.mypurecloud.ie",
		"REFUNDFLOW_GENESYS_CLIENT_ID":      "gid",
		"REFUNDFLOW_GENESYS_CLIENT_SECRET":  "gsecret",
		"REFUNDFLOW_GENESYS_WORKTYPE_ID":    "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c",
	} {
		t.Setenv(k, v)
	}
	var gw GatewayConfig
	var gen GenesysConfig
	if err := envconfig.Process("REFUNDFLOW", &gw); err != nil {
		t.Fatal(err)
	}
	if err := envconfig.Process("REFUNDFLOW", &gen); err != nil {
		t.Fatal(err)
	}
	if gw.Kind != "erp" || gw.Timeout != 15*time.Second || gw.StripeBaseURL != "https://api.stripe.com" {
		t.Errorf("gateway defaults: %+v", gw)
	}
	if !reflect.DeepEqual(gw.Scopes, []string{"refunds.write", "chargebacks.write"}) {
		t.Errorf("scopes = %q", gw.Scopes)
	}
	if gen.Timeout != 10*time.Second {
		t.Errorf("Genesys timeout = %s", gen.Timeout)
	}
	if err := gw.Validate(); err != nil {
		t.Error(err)
	}
	if err := gen.Validate(); err != nil {
		t.Error(err)
	}
	if login, _ := gen.LoginBase(); login != "https://login.mypurecloud.ie" {
		t.Errorf("login base = %s", login)
	}
	// Every field is documented for the usage table.
	for _, v := range []any{gw, gen} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if typ.Field(i).Tag.Get("desc") == "" || typ.Field(i).Tag.Get("envconfig") == "" {
				t.Errorf("%s.%s lacks an envconfig or desc tag", typ.Name(), typ.Field(i).Name)
			}
		}
	}
}

func TestGatewayConfigNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	err := GatewayConfig{Timeout: time.Second, ClientSecret: "hunter2-secret", RefundURL: "ftp://x"}.Validate()
	for _, name := range []string{"REFUNDFLOW_GATEWAY_REFUND_URL", "REFUNDFLOW_GATEWAY_CHARGEBACK_URL", "REFUNDFLOW_GATEWAY_TOKEN_URL", "REFUNDFLOW_GATEWAY_CLIENT_ID"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "REFUNDFLOW_GATEWAY_CLIENT_SECRET") {
		t.Errorf("error mentions the secret that is set: %v", err)
	}

	err = GatewayConfig{Kind: "stripe", Timeout: time.Second, StripeBaseURL: "https://api.stripe.com"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_STRIPE_API_KEY") || strings.Contains(err.Error(), "TOKEN_URL") {
		t.Errorf("stripe: %v", err)
	}
	if err := (GatewayConfig{Kind: "worldpay", Timeout: time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GATEWAY_KIND must be") {
		t.Errorf("unknown kind: %v", err)
	}
	err = GatewayConfig{Kind: "adyen", Timeout: time.Second, AdyenBaseURL: "https://checkout-test.adyen.com", AdyenAPIKey: "AQE-secret-key"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_ADYEN_MERCHANT_ACCOUNT") || strings.Contains(err.Error(), "REFUNDFLOW_ADYEN_API_KEY") ||
		strings.Contains(err.Error(), "AQE-secret-key") || strings.Contains(err.Error(), "TOKEN_URL") {
		t.Errorf("adyen: %v", err)
	}
	if err := (GatewayConfig{Kind: "adyen", Timeout: time.Second, AdyenBaseURL: "https://checkout-test.adyen.com", AdyenAPIKey: "k", AdyenMerchantAccount: "M"}).Validate(); err != nil {
		t.Errorf("a complete adyen config: %v", err)
	}
	if err := (GatewayConfig{Kind: "stripe", StripeBaseURL: "https://api.stripe.com", StripeAPIKey: "k"}).Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GATEWAY_TIMEOUT") {
		t.Errorf("zero timeout: %v", err)
	}
	if err := (GatewayConfig{Kind: "stripe", Timeout: time.Second, StripeBaseURL: "https://user:pw@api.stripe.com", StripeAPIKey: "k"}).Validate(); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("credentials in a URL: %v", err)
	}
}

func TestGenesysConfigNeedsSomewhereToEscalate(t *testing.T) {
	t.Parallel()
	base := GenesysConfig{APIURL: "https://api.mypurecloud.com", ClientID: "id", ClientSecret: "s", Timeout: time.Second}
	err := base.Validate()
	if err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_WORKTYPE_ID or REFUNDFLOW_FINANCE_OPS_EMAIL") {
		t.Errorf("no worktype, no email: %v", err)
	}
	withEmail := base
	withEmail.FinanceOpsEmail = "finance@example.com"
	if err := withEmail.Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_EMAIL_FROM") {
		t.Errorf("email without a sender: %v", err)
	}
	withEmail.EmailFrom = "Refunds <refunds@example.com>"
	if err := withEmail.Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_EMAIL_FROM") {
		t.Errorf("a display name is not a bare address: %v", err)
	}
	withEmail.EmailFrom = "refunds@example.com"
	if err := withEmail.Validate(); err != nil {
		t.Error(err)
	}
	withWorktype := base
	withWorktype.WorktypeID = "refund-review"
	if err := withWorktype.Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_WORKTYPE_ID must be a Genesys id") {
		t.Errorf("a worktype name, not its id: %v", err)
	}
	withWorktype.QueueID = "q-finance"
	if err := withWorktype.Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_QUEUE_ID must be a Genesys id") {
		t.Errorf("a queue name, not its id: %v", err)
	}
	withWorktype.WorktypeID, withWorktype.QueueID = "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c", "0B9E8D7C-6A5F-4E3D-8C2B-1A0F9E8D7C6B"
	if err := withWorktype.Validate(); err != nil {
		t.Error(err)
	}
	if err := (GenesysConfig{WorktypeID: "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c", Timeout: time.Second}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_API_URL") || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_CLIENT_SECRET") {
		t.Errorf("missing API URL and credentials: %v", err)
	}
	// A stand-in on localhost: the API URL is the login base too.
	local := withWorktype
	local.APIURL = "http://127.0.0.1:8080"
	if err := local.Validate(); err != nil {
		t.Errorf("API URL without api. and no login URL: %v", err)
	}
	local.APIURL = "127.0.0.1:8080"
	if err := local.Validate(); err == nil || !strings.Contains(err.Error(), "REFUNDFLOW_GENESYS_API_URL") {
		t.Errorf("relative API URL: %v", err)
	}
}
