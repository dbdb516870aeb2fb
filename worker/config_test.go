package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigNamesTheMissingVariable(t *testing.T) {
	for _, kv := range [][2]string{{"REFUNDFLOW_GATEWAY_REFUND_URL", ""}, {"REFUNDFLOW_GENESYS_API_URL", ""}} {
		t.Setenv(kv[0], kv[1])
	}
	var cfg Config
	err := loadConfig(&cfg)
	if err == nil {
		t.Fatal("config without gateway or Genesys loaded")
	}
	for _, name := range []string{"REFUNDFLOW_GATEWAY_REFUND_URL", "REFUNDFLOW_GENESYS_API_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	env := map[string]string{
		"REFUNDFLOW_GATEWAY_REFUND_URL":     "http://gw/refunds",
		"REFUNDFLOW_GATEWAY_CHARGEBACK_URL": "http://gw/chargebacks",
		"REFUNDFLOW_GATEWAY_TOKEN_URL":      "http://gw/token",
		"REFUNDFLOW_GATEWAY_CLIENT_ID":      "id",
		"REFUNDFLOW_GATEWAY_CLIENT_SECRET":  "secret",
		"REFUNDFLOW_GENESYS_API_URL":        "https://api.mypurecloud.com",
		"REFUNDFLOW_GENESYS_CLIENT_ID":      "gid",
		"REFUNDFLOW_GENESYS_CLIENT_SECRET":  "gsecret",
		"REFUNDFLOW_GENESYS_WORKTYPE_ID":    "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg Config
	if err := loadConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	s := cfg.settings()
	if s.GatewayTimeout != 15*time.Second || s.RetryWindow != 10*time.Minute || s.ReviewReminder != 4*time.Hour {
		t.Errorf("settings = %+v, want the contract's defaults", s)
	}
	if cfg.TaskQueue != "refund-remediation" || cfg.Namespace != "default" || cfg.Address != "localhost:7233" {
		t.Errorf("temporal = %+v", cfg.Config)
	}
	if login, err := cfg.LoginBase(); err != nil || login != "https://login.mypurecloud.com" {
		t.Errorf("login base = %s, %v", login, err)
	}
}

func TestLoadConfigRefusesASettlementThatCannotWork(t *testing.T) {
	for k, v := range map[string]string{
		"REFUNDFLOW_GATEWAY_REFUND_URL": "http://gw/refunds", "REFUNDFLOW_GATEWAY_CHARGEBACK_URL": "http://gw/chargebacks",
		"REFUNDFLOW_GATEWAY_TOKEN_URL": "http://gw/token", "REFUNDFLOW_GATEWAY_CLIENT_ID": "id", "REFUNDFLOW_GATEWAY_CLIENT_SECRET": "secret",
		"REFUNDFLOW_GENESYS_API_URL": "https://api.mypurecloud.com", "REFUNDFLOW_GENESYS_CLIENT_ID": "gid",
		"REFUNDFLOW_GENESYS_CLIENT_SECRET": "gsecret", "REFUNDFLOW_GENESYS_WORKTYPE_ID": "7c3f5b2a-1d4e-4f6a-9b8c-2e1d0a9f8b7c",
		"REFUNDFLOW_SETTLEMENT_POLL": "0s", "REFUNDFLOW_SETTLEMENT_TIMEOUT": "-1h",
	} {
		t.Setenv(k, v)
	}
	var cfg Config
	err := loadConfig(&cfg)
	for _, name := range []string{"REFUNDFLOW_SETTLEMENT_POLL", "REFUNDFLOW_SETTLEMENT_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}
