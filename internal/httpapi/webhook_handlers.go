package httpapi

import (
	"net/http"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/outbound"
)

// maxWebhooks bounds the subscriptions of one account.
const maxWebhooks = 20

type webhookRequest struct {
	URL    *string   `json:"url"`
	Types  *[]string `json:"types"`
	Active *bool     `json:"active"`
}

func (a *API) checkWebhook(in *webhookRequest) error {
	if in.URL != nil {
		if len(*in.URL) > 2000 {
			return parley.Errorf(parley.EINVALID, "url is longer than 2000 characters")
		}
		if a.CheckURL != nil {
			if err := a.CheckURL(*in.URL); err != nil {
				return parley.Errorf(parley.EINVALID, "url: %s", parley.ErrorMessage(err))
			}
		}
	}
	if in.Types != nil {
		for _, t := range *in.Types {
			if !parley.ValidEventType(t) {
				return parley.Errorf(parley.EINVALID, "unknown event type %q (a type, or a pattern like conversation.*)", t)
			}
		}
	}
	return nil
}

func (a *API) handleListWebhooks(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	hooks, err := a.store.ListWebhooks(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks})
	return nil
}

// handleCreateWebhook subscribes a URL to the account's events from now on;
// the answer carries the signing secret.
func (a *API) handleCreateWebhook(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var in webhookRequest
	if err := decode(r, a.maxBody, &in); err != nil {
		return err
	}
	if in.URL == nil || *in.URL == "" {
		return parley.Errorf(parley.EINVALID, "url is required")
	}
	if err := a.checkWebhook(&in); err != nil {
		return err
	}
	existing, err := a.store.ListWebhooks(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	if len(existing) >= maxWebhooks {
		return parley.Errorf(parley.EINVALID, "an account has at most %d webhooks", maxWebhooks)
	}
	hook := &parley.Webhook{AccountID: p.AccountID, URL: *in.URL, Secret: outbound.NewSecret()}
	if in.Types != nil {
		hook.Types = *in.Types
	}
	if err := a.store.CreateWebhook(r.Context(), hook); err != nil {
		return err
	}
	if hook.Types == nil {
		hook.Types = []string{}
	}
	a.webhooksChanged()
	writeJSON(w, http.StatusCreated, hook)
	return nil
}

func (a *API) handleGetWebhook(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	hook, err := a.store.FindWebhook(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

// handleUpdateWebhook changes the URL, the types, or turns it on or off.
func (a *API) handleUpdateWebhook(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	var in webhookRequest
	if err := decode(r, a.maxBody, &in); err != nil {
		return err
	}
	if err := a.checkWebhook(&in); err != nil {
		return err
	}
	hook, err := a.store.FindWebhook(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if in.URL != nil {
		hook.URL = *in.URL
	}
	if in.Types != nil {
		hook.Types = *in.Types
	}
	if in.Active != nil {
		hook.Active = *in.Active
	}
	if err := a.store.UpdateWebhook(r.Context(), hook); err != nil {
		return err
	}
	a.webhooksChanged()
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (a *API) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	if err := a.store.DeleteWebhook(r.Context(), p.AccountID, r.PathValue("id")); err != nil {
		return err
	}
	a.webhooksChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleListDeliveries is the delivery log: the latest 100, newest first.
func (a *API) handleListDeliveries(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	hook, err := a.store.FindWebhook(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	ds, err := a.store.ListDeliveries(r.Context(), p.AccountID, hook.ID, 100)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
	return nil
}

// handleRedeliver sends a delivery again (same webhook-id), now.
func (a *API) handleRedeliver(w http.ResponseWriter, r *http.Request, p parley.Principal) error {
	d, err := a.store.Redeliver(r.Context(), p.AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	a.webhooksChanged()
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) webhooksChanged() {
	if a.WebhooksChanged != nil {
		a.WebhooksChanged()
	}
}
