// Package temporalclient dials Temporal the same way for the worker and the
// starter, from the REFUNDFLOW_TEMPORAL_* settings: a local dev server, a
// self-hosted cluster with (m)TLS, or Temporal Cloud with an API key.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/refundflow/refundflow/internal/codec"
)

// Config is embedded in each program's config struct.
type Config struct {
	Address   string `envconfig:"TEMPORAL_ADDRESS" default:"localhost:7233" desc:"Temporal frontend host:port"`
	Namespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default" desc:"Temporal namespace"`
	TaskQueue string `envconfig:"TASK_QUEUE" default:"refund-remediation" desc:"task queue of RemediationWorkflow"`
	// APIKey authenticates to Temporal Cloud; it implies TLS.
	APIKey        string `envconfig:"TEMPORAL_API_KEY" desc:"Temporal Cloud API key (implies TLS)"`
	TLS           bool   `envconfig:"TEMPORAL_TLS" default:"false" desc:"use TLS to the frontend (set by any TLS file too)"`
	TLSCertFile   string `envconfig:"TEMPORAL_TLS_CERT" desc:"client certificate for mTLS (PEM)"`
	TLSKeyFile    string `envconfig:"TEMPORAL_TLS_KEY" desc:"client key for mTLS (PEM)"`
	TLSCAFile     string `envconfig:"TEMPORAL_TLS_CA" desc:"CA bundle to verify the server (PEM); system roots if empty"`
	TLSServerName string `envconfig:"TEMPORAL_TLS_SERVER_NAME" desc:"server name to verify, if not the address host"`
	// CodecKeys turns on payload encryption (see internal/codec).
	CodecKeys string `envconfig:"CODEC_KEYS" desc:"payload encryption keys id:base64(32 bytes),...; the first encrypts, all decrypt; empty = payloads in clear"`
}

// Keys parses CodecKeys; nil means encryption is off.
func (c Config) Keys() (*codec.Keyring, error) { return codec.ParseKeys(c.CodecKeys) }

// Options builds client options; callers add their data converter or
// interceptors before dialing.
func (c Config) Options(logger *slog.Logger) (client.Options, error) {
	keys, err := c.Keys()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:         c.Address,
		Namespace:        c.Namespace,
		Logger:           log.NewStructuredLogger(logger),
		DataConverter:    codec.DataConverter(keys),
		FailureConverter: codec.FailureConverter(keys),
	}
	tlsConfig, err := c.tlsConfig()
	if err != nil {
		return opts, err
	}
	opts.ConnectionOptions.TLS = tlsConfig
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS && c.APIKey == "" && c.TLSCertFile == "" && c.TLSCAFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, fmt.Errorf("REFUNDFLOW_TEMPORAL_TLS_CERT and REFUNDFLOW_TEMPORAL_TLS_KEY must be set together")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load Temporal client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("read Temporal CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate found in %s", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// DialWithRetry dials until Temporal answers or ctx ends, so a worker started
// alongside its server (compose, make dev) waits instead of dying.
func DialWithRetry(ctx context.Context, opts client.Options, logger *slog.Logger) (client.Client, error) {
	delay := 250 * time.Millisecond
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		logger.Warn("Temporal not reachable yet", "address", opts.HostPort, "error", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial Temporal at %s: %w", opts.HostPort, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
