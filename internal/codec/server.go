package codec

import (
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// ServerOptions configure the codec server the Temporal UI and CLI call.
type ServerOptions struct {
	// AllowedOrigins are the browser origins (the Temporal UI's) that may
	// call the codec; "*" allows any.
	AllowedOrigins []string
	// Authorize reports whether a presented token belongs to finance ops.
	// Decoding shows customer data, so it needs one.
	Authorize func(token string) bool
}

const maxCodecBody = 4 << 20

// Handler serves POST {prefix}/decode and {prefix}/encode (the SDK's codec
// HTTP protocol), answers the browser's CORS preflight, and requires a
// finance-ops token: as "Authorization: Bearer <token>" (CLI, or a UI with
// its own login that passes a token), or as the path segment before
// /decode, for a UI that cannot send headers (the local dev UI):
// --ui-codec-endpoint http://host/codec/<token>. Mount it with
// http.StripPrefix so paths here start after the prefix.
func Handler(keys *Keyring, opts ServerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(New(keys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && allowedOrigin(opts.AllowedOrigins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			if r.Header.Get("Origin") == "" || !allowedOrigin(opts.AllowedOrigins, r.Header.Get("Origin")) {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		token, op, ok := splitCodecPath(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			token = strings.TrimSpace(bearer)
		}
		if token == "" || opts.Authorize == nil || !opts.Authorize(token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="refundflow-codec"`)
			http.Error(w, "a finance-ops token is required to decode payloads", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCodecBody)
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + op
		inner.ServeHTTP(w, r2)
	})
}

// splitCodecPath reads "decode", "encode", "<token>/decode" or "<token>/encode".
func splitCodecPath(p string) (token, op string, ok bool) {
	p = strings.Trim(p, "/")
	token, op, found := strings.Cut(p, "/")
	if !found {
		token, op = "", p
	}
	if strings.Contains(op, "/") || (op != "decode" && op != "encode") {
		return "", "", false
	}
	return token, op, true
}

func allowedOrigin(allowed []string, origin string) bool {
	return slices.Contains(allowed, "*") || slices.Contains(allowed, strings.TrimRight(origin, "/"))
}
