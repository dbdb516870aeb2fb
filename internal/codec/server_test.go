package codec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestCodecServer(t *testing.T) {
	t.Parallel()
	keys, _ := ParseKeys("k1:" + key(7))
	mux := http.NewServeMux()
	mux.Handle("/codec/", http.StripPrefix("/codec", Handler(keys, ServerOptions{
		AllowedOrigins: []string{"http://localhost:8233"},
		Authorize:      func(token string) bool { return token == "secret-token" },
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	enc, _ := New(keys).Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"customerId":"C-9"}`)}})
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})

	post := func(path, auth, origin string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	if code, _, _ := post("/codec/decode", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _, _ := post("/codec/decode", "Bearer wrong", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	code, out, hdr := post("/codec/decode", "Bearer secret-token", "http://localhost:8233")
	if code != http.StatusOK {
		t.Fatalf("bearer decode: %d %s", code, out)
	}
	if hdr.Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
		t.Errorf("CORS origin header = %q", hdr.Get("Access-Control-Allow-Origin"))
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal([]byte(out), &decoded); err != nil || string(decoded.Payloads[0].Data) != `{"customerId":"C-9"}` {
		t.Fatalf("decoded = %s (%v)", out, err)
	}
	if code, out, _ := post("/codec/secret-token/decode", "", ""); code != http.StatusOK || !strings.Contains(out, "payloads") {
		t.Errorf("path token decode: %d %s", code, out)
	}
	if code, _, _ := post("/codec/other/decode", "", ""); code != http.StatusUnauthorized {
		t.Errorf("wrong path token: %d", code)
	}
	if code, _, _ := post("/codec/decode/extra", "Bearer secret-token", ""); code != http.StatusNotFound {
		t.Errorf("bad path: %d", code)
	}

	// The browser's preflight carries no credentials and must still pass.
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/codec/decode", nil)
	req.Header.Set("Origin", "http://localhost:8233")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "http://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("preflight from another origin: %d, want 403", resp.StatusCode)
	}
}
