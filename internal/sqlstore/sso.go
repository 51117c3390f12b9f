package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/parleychat/parley"
)

// SetSSO stores or removes the account's single sign-on settings and
// writes sso.changed (without the secret).
func (db *DB) SetSSO(ctx context.Context, accountID string, s *parley.SSO) error {
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(accountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `DELETE FROM sso_domains WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		if s == nil {
			res, err := tx.ExecContext(tx.ctx, `DELETE FROM sso_providers WHERE account_id = ?`, accountID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // nothing was set: nothing changed
			}
			return tx.event(accountID, parley.EventSSOChanged, "", parley.SSOChanged{})
		}
		domains := s.Domains
		if domains == nil {
			domains = []string{}
		}
		dj, err := json.Marshal(domains)
		if err != nil {
			return err
		}
		for _, d := range domains {
			_, err := tx.ExecContext(tx.ctx, `INSERT INTO sso_domains (domain, account_id) VALUES (?, ?)`, d, accountID)
			if isUniqueViolation(err) {
				return parley.Errorf(parley.ECONFLICT, "domains: %s is another brand's; ask the installation's operator if it is yours", d)
			}
			if err != nil {
				return err
			}
		}
		s.UpdatedAt = tx.now
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO sso_providers (account_id, issuer, client_id, client_secret, required, provision_role, domains, sign_out, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
				required = excluded.required, provision_role = excluded.provision_role, domains = excluded.domains, sign_out = excluded.sign_out, updated_at = excluded.updated_at`,
			accountID, s.Issuer, s.ClientID, s.ClientSecret, boolInt(s.Required), string(s.ProvisionRole), string(dj), boolInt(s.SignOut), micros(s.UpdatedAt)); err != nil {
			return err
		}
		return tx.event(accountID, parley.EventSSOChanged, "", parley.SSOChanged{Issuer: s.Issuer, ClientID: s.ClientID,
			Required: s.Required, ProvisionRole: s.ProvisionRole, Domains: domains})
	})
}

// FindSSO returns the account's single sign-on settings.
func (db *DB) FindSSO(ctx context.Context, accountID string) (*parley.SSO, error) {
	var s parley.SSO
	var required, signOut int
	var role, domains string
	var updated int64
	err := db.read.QueryRowContext(ctx, `SELECT issuer, client_id, client_secret, required, provision_role, domains, sign_out, updated_at FROM sso_providers WHERE account_id = ?`, accountID).
		Scan(&s.Issuer, &s.ClientID, &s.ClientSecret, &required, &role, &domains, &signOut, &updated)
	if err != nil {
		return nil, notFound(err, "no single sign-on is set")
	}
	s.Required, s.ProvisionRole, s.SignOut, s.UpdatedAt = required != 0, parley.Role(role), signOut != 0, fromMicros(updated)
	if err := json.Unmarshal([]byte(domains), &s.Domains); err != nil {
		return nil, err
	}
	return &s, nil
}

// FindSSODomain returns the account whose single sign-on claims domain.
func (db *DB) FindSSODomain(ctx context.Context, domain string) (string, error) {
	var accountID string
	err := db.read.QueryRowContext(ctx, `SELECT account_id FROM sso_domains WHERE domain = ?`, domain).Scan(&accountID)
	if err != nil {
		return "", notFound(err, "no single sign-on claims %s", domain)
	}
	return accountID, nil
}
