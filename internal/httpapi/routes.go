package httpapi

import (
	"net/http"
	"strings"

	"github.com/parleychat/parley"
)

// Route is one entry of the API surface. The OpenAPI document must describe
// every route listed here (a test checks it).
type Route struct {
	Method, Path string
	access       access
	handler      handlerFunc
}

// Routes returns the whole REST API surface.
func (a *API) Routes() []Route {
	return []Route{
		{"POST", "/api/v1/auth/login", public, a.handleLogin},
		{"POST", "/api/v1/auth/logout", ownProfile, a.handleLogout},
		{"POST", ssoStartPath, public, a.handleSSOStart},
		{"GET", ssoStartPath, public, a.handleSSOLink},
		{"GET", ssoCallbackPath, public, a.handleSSOCallback},
		{"GET", "/api/v1/sso", admins, a.handleGetSSO},
		{"PUT", "/api/v1/sso", admins, a.handlePutSSO},
		{"DELETE", "/api/v1/sso", admins, a.handleDeleteSSO},
		{"POST", "/api/v1/auth/passkey/start", public, a.handlePasskeyStart},
		{"POST", "/api/v1/auth/passkey/finish", public, a.handlePasskeyFinish},
		{"GET", "/api/v1/me", anyoneProfile, a.handleMe},
		{"PATCH", "/api/v1/me", ownProfile, a.handleUpdateMe},
		{"GET", "/api/v1/me/metrics", agents, a.handleMyMetrics},
		{"PUT", "/api/v1/me/password", ownProfile, a.handleChangePassword},
		{"PUT", "/api/v1/me/photo", ownProfile, a.handleSetMyPhoto},
		{"DELETE", "/api/v1/me/photo", ownProfile, a.handleRemoveMyPhoto},
		{"POST", "/api/v1/me/sessions/end-others", ownProfile, a.handleEndOtherSessions},
		{"POST", "/api/v1/me/mentions/seen", agents, a.handleMentionsSeen},
		{"GET", "/api/v1/me/views", agents, a.handleMyViews},
		{"PUT", "/api/v1/me/views", agents, a.handleSaveMyViews},
		{"POST", "/api/v1/me/two-factor", ownProfile, a.handleStartTwoFactor},
		{"GET", "/api/v1/me/two-factor/qr.png", ownProfile, a.handleTwoFactorQR},
		{"POST", "/api/v1/me/two-factor/confirm", ownProfile, a.handleConfirmTwoFactor},
		{"POST", "/api/v1/me/two-factor/disable", ownProfile, a.handleDisableTwoFactor},
		{"POST", "/api/v1/me/two-factor/recovery-codes", ownProfile, a.handleRenewRecoveryCodes},
		{"DELETE", "/api/v1/me/two-factor/trusted-browsers", ownProfile, a.handleForgetTrustedBrowsers},
		{"GET", "/api/v1/me/passkeys", ownProfile, a.handleListPasskeys},
		{"POST", "/api/v1/me/passkeys/start", ownProfile, a.handleStartPasskeyRegistration},
		{"POST", "/api/v1/me/passkeys", ownProfile, a.handleAddPasskey},
		{"PATCH", "/api/v1/me/passkeys/{id}", ownProfile, a.handleRenamePasskey},
		{"DELETE", "/api/v1/me/passkeys/{id}", ownProfile, a.handleRemovePasskey},

		{"POST", "/api/v1/consumer-tokens", public, a.handleConsumerToken},
		{"PATCH", "/api/v1/consumers/me", consumers, a.handleUpdateOwnProfile},
		{"GET", "/api/v1/consumers", agents, a.handleListConsumers},
		{"GET", "/api/v1/consumers/{id}", agents, a.handleGetConsumer},
		{"PATCH", "/api/v1/consumers/{id}", agents, a.handleUpdateConsumer},
		{"POST", "/api/v1/consumers/{id}/block", agents, a.handleBlockConsumer},
		{"POST", "/api/v1/consumers/{id}/unblock", agents, a.handleUnblockConsumer},
		{"POST", "/api/v1/consumers/{id}/merge", agents, a.handleMergeConsumer},
		{"GET", "/api/v1/consumers/{id}/export", admins, a.handleExportConsumer},
		{"DELETE", "/api/v1/consumers/{id}", admins, a.handleEraseConsumer},
		{"GET", "/api/v1/audit-log", admins, a.handleListAudit},

		{"GET", "/api/v1/users", supervisors, a.handleListUsers},
		{"POST", "/api/v1/users", admins, a.handleCreateUser},
		{"GET", "/api/v1/users/{id}", agents, a.handleGetUser},
		{"GET", "/api/v1/team", agents, a.handleTeam},
		{"GET", "/api/v1/supervisor/overview", supervisors, a.handleOverview},
		{"GET", "/api/v1/agent-status", supervisors, a.handleAgentStatus},
		{"PUT", "/api/v1/users/{id}/status", supervisors, a.handleSetUserStatus},
		{"PATCH", "/api/v1/users/{id}", admins, a.handleUpdateUser},
		{"DELETE", "/api/v1/users/{id}/two-factor", admins, a.handleResetTwoFactor},
		{"PUT", "/api/v1/users/{id}/photo", admins, a.handleSetUserPhoto},
		{"DELETE", "/api/v1/users/{id}/photo", admins, a.handleRemoveUserPhoto},
		{"DELETE", "/api/v1/users/{id}/sso-link", admins, a.handleUnlinkSSO},

		{"GET", "/api/v1/skills", agents, a.handleListSkills},
		{"GET", "/api/v1/visitors", agents, a.handleLiveVisitors},
		{"POST", "/api/v1/visitors/{pv}/invite", agents, a.handleInviteVisitor},
		{"DELETE", "/api/v1/visitors/{pv}/invite", agents, a.handleWithdrawInvitation},
		{"POST", "/api/v1/skills", admins, a.handleCreateSkill},
		{"PATCH", "/api/v1/skills/{id}", admins, a.handleUpdateSkill},

		{"GET", "/api/v1/api-keys", admins, a.handleListAPIKeys},
		{"POST", "/api/v1/api-keys", admins, a.handleCreateAPIKey},
		{"DELETE", "/api/v1/api-keys/{id}", admins, a.handleRevokeAPIKey},

		{"GET", "/api/v1/conversations", anyone, a.handleListConversations},
		{"POST", "/api/v1/conversations", anyone, a.handleCreateConversation},
		{"GET", "/api/v1/conversations/{id}", anyone, a.handleGetConversation},
		{"GET", "/api/v1/conversations/{id}/queue", anyone, a.handleQueuePlace},
		{"POST", "/api/v1/conversations/{id}/close", anyone, a.handleCloseConversation},
		{"POST", "/api/v1/conversations/{id}/accept", agents, a.handleAccept},
		{"PUT", "/api/v1/conversations/{id}/labels", agents, a.handleLabelConversation},
		{"PATCH", "/api/v1/conversations/{id}/fields", agents, a.handleSetFields},
		{"PUT", "/api/v1/conversations/{id}/priority", agents, a.handleSetPriority},
		{"PUT", "/api/v1/conversations/{id}/snooze", agents, a.handleSnooze},
		{"POST", "/api/v1/conversations/{id}/macro", agents, a.handleApplyMacro},
		{"POST", "/api/v1/conversations/{id}/csat", consumers, a.handleCSAT},
		{"POST", "/api/v1/conversations/{id}/pages", consumers, a.handlePage},
		{"POST", "/api/v1/conversations/{id}/transcript/email", consumers, a.handleEmailTranscript},
		{"GET", "/api/v1/conversations/{id}/notes", agents, a.handleListNotes},
		{"GET", "/api/v1/conversations/{id}/activity", agents, a.handleActivity},
		{"GET", "/api/v1/conversations/{id}/suggestions", agents, a.handleSuggestions},
		{"POST", "/api/v1/conversations/{id}/messages/{seq}/redact", agents, a.handleRedact},
		{"POST", "/api/v1/conversations/{id}/notes/{note}/redact", agents, a.handleRedactNote},
		{"POST", "/api/v1/conversations/{id}/notes", agents, a.handleAddNote},
		{"PUT", "/api/v1/conversations/{id}/followers/{user}", agents, a.handleFollow},
		{"DELETE", "/api/v1/conversations/{id}/followers/{user}", agents, a.handleUnfollow},
		{"GET", "/api/v1/canned-responses", agents, a.handleListCanned},
		{"POST", "/api/v1/canned-responses", admins, a.handleCreateCanned},
		{"PUT", "/api/v1/canned-responses/{id}", admins, a.handleUpdateCanned},
		{"DELETE", "/api/v1/canned-responses/{id}", admins, a.handleDeleteCanned},
		{"POST", "/api/v1/conversations/{id}/transfer", agents, a.handleTransfer},
		{"GET", "/api/v1/conversations/{id}/messages", anyone, a.handleListMessages},
		{"GET", "/api/v1/conversations/{id}/transcript", anyone, a.handleTranscript},
		{"POST", "/api/v1/conversations/{id}/messages", anyone, a.handleSendMessage},
		{"POST", "/api/v1/conversations/{id}/attachments", anyone, a.handleUploadAttachment},
		{"GET", "/api/v1/attachments/{id}", anyone, a.handleGetAttachment},

		{"GET", "/api/v1/events", supervisors, a.handleListEvents},
		{"GET", "/api/v1/events/stream", supervisors, a.handleEventStream},
		{"GET", "/api/v1/exports/{what}", supervisors, a.handleExport},
		{"GET", "/api/v1/metrics", supervisors, a.handleMetrics},

		{"GET", "/api/v1/account-settings", agents, a.handleGetAccountSettings},
		{"PUT", "/api/v1/account-settings", admins, a.handlePutAccountSettings},
		{"PATCH", "/api/v1/account-settings", admins, a.handlePatchAccountSettings},
		{"GET", "/api/v1/widget-settings", agents, a.handleGetWidgetSettings},
		{"PUT", "/api/v1/widget-settings", admins, a.handlePutWidgetSettings},
		{"GET", "/api/v1/widget/tamper-report", supervisors, a.handleTamperReport},
		{"GET", "/api/v1/widget-identity", admins, a.handleGetIdentityKey},
		{"PUT", "/api/v1/widget-identity", admins, a.handlePutIdentityKey},
		{"DELETE", "/api/v1/widget-identity", admins, a.handleDeleteIdentityKey},

		{"GET", "/api/v1/bot", admins, a.handleGetBot},
		{"PUT", "/api/v1/bot", admins, a.handlePutBot},
		{"POST", "/api/v1/bot/import", admins, a.handleImportBot},
		{"GET", "/api/v1/bot/export", admins, a.handleExportBot},
		{"POST", "/api/v1/bot/test", admins, a.handleTestBot},
		{"GET", "/api/v1/bot/missed", admins, a.handleBotMissed},
		{"GET", "/api/v1/bot/help-stats", admins, a.handleHelpStats},
		{"POST", "/api/v1/bot/check", admins, a.handleCheckBot},

		{"GET", "/api/v1/webhooks", admins, a.handleListWebhooks},
		{"POST", "/api/v1/webhooks", admins, a.handleCreateWebhook},
		{"GET", "/api/v1/webhooks/{id}", admins, a.handleGetWebhook},
		{"PATCH", "/api/v1/webhooks/{id}", admins, a.handleUpdateWebhook},
		{"DELETE", "/api/v1/webhooks/{id}", admins, a.handleDeleteWebhook},
		{"GET", "/api/v1/webhooks/{id}/deliveries", admins, a.handleListDeliveries},
		{"POST", "/api/v1/webhook-deliveries/{id}/redeliver", admins, a.handleRedeliver},

		{"GET", "/api/v1/openapi.json", public, a.handleOpenAPI},
	}
}

// Register adds every route to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.Routes() {
		h := a.guard(rt.access, rt.handler)
		if audited(rt) {
			h = a.audit(rt, h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	// Anything else under the API prefix is a JSON error, not an HTML page:
	// 405 with Allow when the path exists with other methods, else 404.
	mux.Handle("/api/", a.guard(public, func(w http.ResponseWriter, r *http.Request, _ parley.Principal) error {
		var allowed []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			return parley.Errorf(parley.EMETHOD, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))
		}
		return parley.Errorf(parley.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path)
	}))
}
