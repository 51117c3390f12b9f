package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIDescribesEveryRoute fails when a route is added without
// documenting it, or documented without existing.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	routes := (&API{}).Routes()
	routes = append(routes, Route{Method: "GET", Path: "/api/v1/ws"}) // served by the realtime gateway
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is missing from openapi.json", key)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("openapi.json documents %s, which is not served", key)
		}
	}
	// Path parameters in the document are declared.
	param := regexp.MustCompile(`\{(\w+)\}`)
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				if !strings.Contains(string(raw), `"name": "`+m[1]+`"`) && !strings.Contains(string(raw), `"name":"`+m[1]+`"`) {
					t.Errorf("%s %s does not declare path parameter %s", method, path, m[1])
				}
			}
		}
	}
}
