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

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The Genesys Cloud Platform and integrations API specs, Swagger 2.0,
// trimmed to what the project uses (testdata/README.md says from where).
var (
	//go:embed testdata/genesys-platform-trimmed.swagger2.json
	genesysPlatformSwagger []byte
	//go:embed testdata/genesys-integrations-trimmed.swagger2.json
	genesysIntegrationsSwagger []byte
)

// GenesysSpec validates requests against one Genesys Swagger 2.0 spec,
// converted to OpenAPI 3 for kin-openapi's validator.
type GenesysSpec struct {
	router routers.Router
}

// genesysSpecs holds the parsed specs: parsing is pure and the result
// read-only, so one parse serves every sandbox and test in the process.
var genesysSpecs = struct {
	once                   sync.Once
	platform, integrations *GenesysSpec
	err                    error
}{}

// GenesysPlatformSpec is the Platform API spec the worker's requests must
// satisfy.
func GenesysPlatformSpec() (*GenesysSpec, error) {
	loadGenesysSpecs()
	return genesysSpecs.platform, genesysSpecs.err
}

// GenesysIntegrationsSpec is the integrations API spec (Data Actions).
func GenesysIntegrationsSpec() (*GenesysSpec, error) {
	loadGenesysSpecs()
	return genesysSpecs.integrations, genesysSpecs.err
}

func loadGenesysSpecs() {
	genesysSpecs.once.Do(func() {
		genesysSpecs.platform, genesysSpecs.err = newGenesysSpec("platform", genesysPlatformSwagger)
		if genesysSpecs.err == nil {
			genesysSpecs.integrations, genesysSpecs.err = newGenesysSpec("integrations", genesysIntegrationsSwagger)
		}
	})
}

func newGenesysSpec(name string, swagger []byte) (*GenesysSpec, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("genesys %s spec: %w", name, err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("genesys %s spec: convert to OpenAPI 3: %w", name, err)
	}
	allowStringCustomFields(doc)
	allowAnyJSONNode(doc)
	doc.Servers = openapi3.Servers{{URL: "/"}}
	// No doc.Validate: Genesys names its security schemes "PureCloud
	// OAuth" and "Guest Chat JWT", which OpenAPI 3 refuses as identifiers
	// though nothing here depends on them (authentication is the
	// sandbox's own, see authenticated).
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("genesys %s spec: %w", name, err)
	}
	return &GenesysSpec{router: router}, nil
}

// allowStringCustomFields corrects the spec's one known artifact: a
// workitem's customFields values are typed object (the generator's
// Map<String,Object>), yet Genesys takes the worktype schema's values,
// strings for the *_text fields, there. Only that rule changes: the
// values may be any JSON value.
func allowStringCustomFields(doc *openapi3.T) {
	for _, name := range []string{"WorkitemCreate", "WorkitemUpdate"} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		if field := ref.Value.Properties["customFields"]; field != nil && field.Value != nil {
			field.Value.AdditionalProperties = openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", openapi3.NewSchema())}
		}
	}
}

// allowAnyJSONNode corrects the same generator artifact in a Process
// Automation trigger's matchCriteria: value and values are Jackson
// JsonNodes, any JSON value ("value": "VOICE" in Genesys's own examples),
// which the generator typed object. The worker never sends one; the
// admin's trigger bodies in genesys/ do.
func allowAnyJSONNode(doc *openapi3.T) {
	if ref := doc.Components.Schemas["JsonNode"]; ref != nil && ref.Value != nil {
		ref.Value.Type = nil
	}
}

// Check validates one request: its path and method, path and query
// parameters (and no query parameter the operation does not declare), and
// its JSON body. It returns what is wrong in a sentence, or "" when the
// request is valid; known is false for a route the spec does not have.
// The request's body is left readable.
func (g *GenesysSpec) Check(r *http.Request) (problem string, known bool) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxBody))
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, pathParams, err := g.router.FindRoute(r)
	if err != nil {
		return "", false
	}
	if problem := unknownQueryParams(route, r); problem != "" {
		return problem, true
	}
	check := r.Clone(r.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		check.Body = http.NoBody
	}
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
		return oneLine(err.Error()), true
	}
	return "", true
}

// checkGenesysSpec validates a Genesys request against the Platform API
// spec. A request Genesys would refuse is answered as Genesys does, 400
// bad.request with the reason, and counted in
// stats.genesysSpecViolations; it returns false when it answered.
func (s *Server) checkGenesysSpec(w http.ResponseWriter, r *http.Request) bool {
	spec, err := GenesysPlatformSpec()
	if err != nil {
		genesysError(w, http.StatusInternalServerError, "internal.server.error", err.Error())
		return false
	}
	problem, known := spec.Check(r)
	if !known {
		problem = "the Genesys spec has no operation " + r.Method + " " + r.URL.Path
	}
	if problem == "" {
		return true
	}
	s.mu.Lock()
	s.ledger.Stats.GenesysSpecViolations++
	if len(s.ledger.Stats.GenesysSpecViolationNotes) < maxSpecViolationNotes {
		s.ledger.Stats.GenesysSpecViolationNotes = append(s.ledger.Stats.GenesysSpecViolationNotes,
			fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, problem))
	}
	s.dirty = true
	s.mu.Unlock()
	genesysError(w, http.StatusBadRequest, "bad.request", "The request could not be understood by the server due to malformed syntax: "+strings.TrimSpace(problem))
	return false
}

// genesysAPI wraps a Genesys handler: a valid bearer token, the rate
// limit, then the spec.
func (s *Server) genesysAPI(next http.HandlerFunc) http.HandlerFunc {
	return s.authenticated(func(w http.ResponseWriter, r *http.Request) {
		if !s.genesysRateLimit(w, r) {
			return
		}
		if s.checkGenesysSpec(w, r) {
			next(w, r)
		}
	})
}
