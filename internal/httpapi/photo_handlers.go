package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/avatar"
)

// People's photos (docs/widget.md, Photos): the raw image as the request
// body, at most the attachment limit; stored as a square PNG the avatar
// package makes, shown to visitors beside the person's messages.

func (a *API) handleSetMyPhoto(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has a photo")
	}
	return a.setPhoto(w, r, p.AccountID, p.ID)
}

func (a *API) handleRemoveMyPhoto(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if p.Kind != parley.PrincipalUser {
		return parley.Errorf(parley.EFORBIDDEN, "only a person logged in to the console has a photo")
	}
	return a.removePhoto(w, r, p.AccountID, p.ID)
}

// handleSetUserPhoto: an admin sets a colleague's photo (the brand's
// people added by SCIM have none of their own to upload yet).
func (a *API) handleSetUserPhoto(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	return a.setPhoto(w, r, p.AccountID, r.PathValue("id"))
}

func (a *API) handleRemoveUserPhoto(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	return a.removePhoto(w, r, p.AccountID, r.PathValue("id"))
}

func (a *API) setPhoto(w http.ResponseWriter, r *http.Request, accountID, userID string) error {
	upload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxFile))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return parley.Errorf(parley.ETOOLARGE, "the photo is over %d MB", a.maxFile>>20)
	} else if err != nil {
		return parley.Errorf(parley.EINVALID, "reading the photo: %v", err)
	}
	if _, err := a.store.FindUser(r.Context(), accountID, userID); err != nil {
		return err // not found before the work of decoding
	}
	png, err := avatar.Normalise(upload)
	if err != nil {
		return err
	}
	u, err := a.store.SetUserPhoto(r.Context(), accountID, userID, png)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) removePhoto(w http.ResponseWriter, r *http.Request, accountID, userID string) error {
	u, err := a.store.SetUserPhoto(r.Context(), accountID, userID, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}
