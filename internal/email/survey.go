package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// Ratings by email (docs/email.md): a conversation with a person that
// closes unrated — the visitor had left when the chat window asked — is
// followed SurveyDelay later by an email asking for the rating, as
// Zendesk and LivePerson do. Each score is a link to a page on Parley
// (the installation's --public-url) that shows the choice with a comment
// box; only its Send records the rating, so mail scanners that open every
// link rate nothing.

// RateFunc records a visitor's rating of their conversation (the
// conversation service's, which masks the comment).
type RateFunc func(ctx context.Context, accountID, consumerID, conversationID string, score int, comment string) error

// surveyOwed returns the rating request a closed conversation owes, or
// nil: only conversations a person answered, closed unrated, not for a
// block, in an account that asks.
func (s *Service) surveyOwed(acc *parley.Account, e *parley.Event, now time.Time) *parley.ReplyEmail {
	if !acc.Settings.EmailReplies.Survey || s.PublicURL == "" || now.Sub(e.CreatedAt) > MaxAge {
		return nil
	}
	var c parley.Conversation
	if json.Unmarshal(e.Data, &c) != nil || c.AssignedAt == nil || c.CSATScore != 0 || c.CloseReason == parley.CloseBlocked {
		return nil
	}
	return &parley.ReplyEmail{ConversationID: c.ID, Kind: parley.EmailKindSurvey, DueAt: e.CreatedAt.Add(parley.SurveyDelay)}
}

// composeSurvey builds the rating request, or says why there is none.
func (s *Service) composeSurvey(ctx context.Context, acc *parley.Account, e *parley.ReplyEmail, now time.Time) (*Letter, string, error) {
	settings := acc.Settings.EmailReplies
	if !settings.Survey || s.PublicURL == "" {
		return nil, "rating requests were turned off", nil
	}
	conv, to, why, err := s.recipient(ctx, acc.ID, e.ConversationID)
	if conv == nil {
		return nil, why, err
	}
	if conv.CSATScore != 0 {
		return nil, "rated in the chat", nil
	}
	brand := settings.FromName
	if brand == "" {
		brand = acc.Name
	}
	p := phrasebook(acc.Settings.Widget.Language)
	token := s.surveyToken(acc.ID, conv.ID)
	l := &Letter{
		From:    mail.Address{Name: brand, Address: s.from},
		To:      *to,
		Subject: strings.ReplaceAll(p.surveySubject, "{brand}", brand),
		Intro:   strings.ReplaceAll(p.surveyIntro, "{brand}", brand),
		Footer:  strings.ReplaceAll(p.surveyFooter, "{brand}", brand),
		ID:      e.ID,
		Thread:  conv.ID,
		Date:    now,
	}
	for score := 5; score >= 1; score-- {
		l.Choices = append(l.Choices, Choice{
			Label: strings.Repeat("★", score) + strings.Repeat("☆", 5-score) + " " + p.scores[score-1],
			Link:  s.PublicURL + "/csat/rate?" + url.Values{"t": {token}, "score": {strconv.Itoa(score)}}.Encode(),
		})
	}
	return l, "", nil
}

// surveyToken names a conversation for its rating page, signed.
func (s *Service) surveyToken(accountID, conversationID string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(accountID + "." + conversationID))
	return payload + "." + s.sign(payload)
}

func (s *Service) sign(payload string) string {
	m := hmac.New(sha256.New, s.SurveyKey)
	m.Write([]byte("parley: rating link, v1\n" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// openSurveyToken returns the account and conversation a token names.
func (s *Service) openSurveyToken(token string) (accountID, conversationID string, ok bool) {
	payload, sig, found := strings.Cut(token, ".")
	if !found || len(s.SurveyKey) == 0 || !hmac.Equal([]byte(sig), []byte(s.sign(payload))) {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", false
	}
	accountID, conversationID, found = strings.Cut(string(raw), ".")
	return accountID, conversationID, found
}

// pageWords are the rating page's words in the widget's languages.
var pageWords = map[string]map[string]string{
	"en": {"title": "Rate your conversation with {brand}", "comment": "Anything you'd like to add? (optional)", "send": "Send",
		"thanks": "Thanks for your rating!", "rated": "This conversation was already rated. Thank you!", "bad": "This rating link is not valid."},
	"es": {"title": "Valora tu conversación con {brand}", "comment": "¿Algo que quieras añadir? (opcional)", "send": "Enviar",
		"thanks": "¡Gracias por tu valoración!", "rated": "Esta conversación ya está valorada. ¡Gracias!", "bad": "Este enlace de valoración no es válido."},
	"fr": {"title": "Évaluez votre discussion avec {brand}", "comment": "Quelque chose à ajouter ? (facultatif)", "send": "Envoyer",
		"thanks": "Merci pour votre note !", "rated": "Cette discussion a déjà été notée. Merci !", "bad": "Ce lien d'évaluation n'est pas valide."},
	"de": {"title": "Bewerten Sie Ihr Gespräch mit {brand}", "comment": "Möchten Sie etwas hinzufügen? (optional)", "send": "Senden",
		"thanks": "Danke für Ihre Bewertung!", "rated": "Dieses Gespräch wurde bereits bewertet. Danke!", "bad": "Dieser Bewertungslink ist ungültig."},
	"it": {"title": "Valuta la tua conversazione con {brand}", "comment": "Vuoi aggiungere qualcosa? (facoltativo)", "send": "Invia",
		"thanks": "Grazie per la tua valutazione!", "rated": "Questa conversazione è già stata valutata. Grazie!", "bad": "Questo link di valutazione non è valido."},
	"nl": {"title": "Beoordeel je gesprek met {brand}", "comment": "Wil je nog iets toevoegen? (optioneel)", "send": "Versturen",
		"thanks": "Bedankt voor je beoordeling!", "rated": "Dit gesprek is al beoordeeld. Bedankt!", "bad": "Deze beoordelingslink is niet geldig."},
	"pt": {"title": "Avalie a sua conversa com {brand}", "comment": "Quer acrescentar alguma coisa? (opcional)", "send": "Enviar",
		"thanks": "Obrigado pela sua avaliação!", "rated": "Esta conversa já foi avaliada. Obrigado!", "bad": "Esta ligação de avaliação não é válida."},
	"sv": {"title": "Betygsätt din konversation med {brand}", "comment": "Vill du lägga till något? (valfritt)", "send": "Skicka",
		"thanks": "Tack för ditt betyg!", "rated": "Den här konversationen har redan fått ett betyg. Tack!", "bad": "Den här betygslänken är inte giltig."},
	"da": {"title": "Bedøm din samtale med {brand}", "comment": "Vil du tilføje noget? (valgfrit)", "send": "Send",
		"thanks": "Tak for din bedømmelse!", "rated": "Denne samtale er allerede bedømt. Tak!", "bad": "Dette bedømmelseslink er ikke gyldigt."},
	"nb": {"title": "Vurder samtalen din med {brand}", "comment": "Vil du legge til noe? (valgfritt)", "send": "Send",
		"thanks": "Takk for vurderingen!", "rated": "Denne samtalen er allerede vurdert. Takk!", "bad": "Denne vurderingslenken er ikke gyldig."},
	"fi": {"title": "Arvioi keskustelusi yrityksen {brand} kanssa", "comment": "Haluatko lisätä jotain? (vapaaehtoinen)", "send": "Lähetä",
		"thanks": "Kiitos arviostasi!", "rated": "Tämä keskustelu on jo arvioitu. Kiitos!", "bad": "Tämä arviointilinkki ei ole voimassa."},
}

var ratePage = template.Must(template.New("rate").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;color:#1f2328;max-width:32rem;margin:2rem auto;padding:0 1rem}
fieldset{border:0;padding:0;margin:1rem 0}label{display:block;margin:.4rem 0}textarea{width:100%;box-sizing:border-box;font:inherit}
button{font:inherit;font-weight:600;padding:.5rem 1.2rem;margin-top:.75rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Message}}<p role="status">{{.Message}}</p>{{else}}
<form method="post" action="/csat/rate">
<input type="hidden" name="t" value="{{.Token}}">
<fieldset><legend class="sr">{{.Title}}</legend>
{{range .Choices}}<label><input type="radio" name="score" value="{{.Score}}"{{if .Checked}} checked{{end}} required> {{.Label}}</label>
{{end}}</fieldset>
<label for="comment">{{.Comment}}</label>
<textarea id="comment" name="comment" rows="4" maxlength="1000"></textarea>
<button type="submit">{{.Send}}</button>
</form>{{end}}
</main></body></html>
`))

type rateChoice struct {
	Score   int
	Label   string
	Checked bool
}

// ServeRate serves the rating page: GET /csat/rate?t=…&score=N shows the
// chosen score with a comment box; POST records the rating.
func (s *Service) ServeRate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			s.page(w, r, http.StatusBadRequest, "en", "Parley", "bad", "", 0)
			return
		}
	}
	token := r.FormValue("t")
	accountID, conversationID, ok := s.openSurveyToken(token)
	if !ok {
		s.page(w, r, http.StatusBadRequest, "en", "Parley", "bad", "", 0)
		return
	}
	ctx := r.Context()
	acc, err := s.store.FindAccount(ctx, accountID)
	if err != nil {
		s.page(w, r, http.StatusNotFound, "en", "Parley", "bad", "", 0)
		return
	}
	lang, brand := acc.Settings.Widget.Language, acc.Settings.EmailReplies.FromName
	if brand == "" {
		brand = acc.Name
	}
	conv, err := s.store.FindConversation(ctx, accountID, conversationID)
	if err != nil {
		s.page(w, r, http.StatusNotFound, lang, brand, "bad", "", 0)
		return
	}
	score, _ := strconv.Atoi(r.FormValue("score"))
	if conv.CSATScore != 0 {
		s.page(w, r, http.StatusOK, lang, brand, "rated", "", 0)
		return
	}
	if r.Method != http.MethodPost {
		s.page(w, r, http.StatusOK, lang, brand, "", token, score)
		return
	}
	if score < 1 || score > 5 {
		s.page(w, r, http.StatusBadRequest, lang, brand, "", token, 0)
		return
	}
	err = s.Rate(ctx, accountID, conv.ConsumerID, conv.ID, score, r.FormValue("comment"))
	switch parley.ErrorCode(err) {
	case "":
		s.page(w, r, http.StatusOK, lang, brand, "thanks", "", 0)
	case parley.ECONFLICT:
		s.page(w, r, http.StatusConflict, lang, brand, "rated", "", 0)
	case parley.EINVALID, parley.ETOOLARGE:
		s.page(w, r, http.StatusBadRequest, lang, brand, "", token, score)
	default:
		s.log.Warn("rating by email", "conversation", conv.ID, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	}
}

func (s *Service) page(w http.ResponseWriter, r *http.Request, status int, lang, brand, message, token string, score int) {
	words, ok := pageWords[lang]
	if !ok {
		lang, words = "en", pageWords["en"]
	}
	p := phrasebook(lang)
	data := struct {
		Lang, Title, Message, Token, Comment, Send string
		Choices                                    []rateChoice
	}{Lang: lang, Title: strings.ReplaceAll(words["title"], "{brand}", brand), Token: token, Comment: words["comment"], Send: words["send"]}
	if message != "" {
		data.Message = words[message]
	}
	for n := 5; n >= 1; n-- {
		data.Choices = append(data.Choices, rateChoice{Score: n, Label: strings.Repeat("★", n) + strings.Repeat("☆", 5-n) + " " + p.scores[n-1], Checked: n == score})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	ratePage.Execute(w, data)
}
