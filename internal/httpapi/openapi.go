package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/parleychat/parley"
)

// OpenAPI is the REST API's OpenAPI 3 document.
//
//go:embed openapi.json
var OpenAPI []byte

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI)
	return nil
}
