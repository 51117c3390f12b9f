package email

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/parleychat/parley"
)

// DefaultBackoff is the wait after each failed attempt the mail server
// may get over (4xx, no answer): five retries over about six hours, then
// the email fails for good.
var DefaultBackoff = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}

// MaxAge is how old an agent's message may be and still be mailed: an
// account that turns email replies on again after a month is not mailed
// the month's replies.
const MaxAge = 24 * time.Hour

// Service queues and sends reply emails. Sweep is one round; the server
// runs it on the node that leads, so one email is sent once.
type Service struct {
	store   parley.Store
	mailer  Mailer
	from    string // the installation's sender address
	log     *slog.Logger
	Backoff []time.Duration
	Batch   int           // events read per account per round, and emails sent per round
	Timeout time.Duration // per email
	// Outcome, when set, counts each email's outcome (metrics).
	Outcome func(state string)
	// MentionDelay is how long a mention, or a message in a conversation
	// someone follows, waits to be seen in the console before it is
	// mailed; Online, when set, says who is in the console
	// now (they are not mailed).
	MentionDelay time.Duration
	Online       func(accountID, userID string) bool
	// ConsoleURL, when set (the installation's public address +
	// "/console/"), links each mentioning note to its conversation.
	ConsoleURL string
	// PublicURL is the installation's public address, for the rating
	// page's links (rating requests need it); SurveyKey signs them; Rate
	// records what the page is sent.
	PublicURL string
	SurveyKey []byte
	Rate      RateFunc
	retry     mentionRetry
	// Inbound, when set, takes the visitors' answers by email: each
	// email's Reply-To is its conversation's own address there, in place
	// of the brand's mailbox.
	Inbound *Inbound
}

// New returns a service sending from the address from through mailer.
func New(store parley.Store, mailer Mailer, from string, log *slog.Logger) *Service {
	return &Service{store: store, mailer: mailer, from: from, log: log, Backoff: DefaultBackoff, Batch: 200, Timeout: 30 * time.Second, MentionDelay: DefaultMentionDelay}
}

// Sweep queues the agents' new messages of every account that mails
// replies, mails people the mentions they missed and what is new in the
// conversations they follow, then sends the reply
// emails that are due.
func (s *Service) Sweep(ctx context.Context, now time.Time) error {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, acc := range accounts {
		if er := acc.Settings.EmailReplies; !er.Enabled && !er.Survey {
			continue
		}
		if err := s.queue(ctx, acc, now); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("email replies: queue", "account", acc.ID, "err", err)
		}
	}
	if err := s.mentions(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("mention emails", "err", err)
	}
	if err := s.follows(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("follow emails", "err", err)
	}
	s.weeklyReports(ctx, accounts, now)
	s.dailyReports(ctx, accounts, now)
	return s.send(ctx, now)
}

// queue reads the account's new message events and owes an email for
// each conversation an agent wrote in.
func (s *Service) queue(ctx context.Context, acc *parley.Account, now time.Time) error {
	cursor, err := s.store.EmailCursor(ctx, acc.ID)
	if err != nil {
		return err
	}
	delay := acc.Settings.EmailReplies.Delay()
	for {
		events, err := s.store.ListEvents(ctx, acc.ID, parley.EventFilter{After: cursor, Types: []string{parley.EventMessageCreated, parley.EventConversationClosed}, Limit: s.Batch})
		if err != nil || len(events) == 0 {
			return err
		}
		var owed []*parley.ReplyEmail
		seen := map[string]bool{}
		for _, e := range events {
			if e.Type == parley.EventConversationClosed {
				if survey := s.surveyOwed(acc, e, now); survey != nil {
					owed = append(owed, survey)
				}
				continue
			}
			// Most messages are the visitors' and the bot's: the sender is
			// read without decoding the rest (it comes early in the JSON).
			if !acc.Settings.EmailReplies.Enabled || seen[e.ConversationID] || gjson.GetBytes(e.Data, "sender_kind").Str != string(parley.SenderAgent) {
				continue
			}
			var m parley.Message
			if json.Unmarshal(e.Data, &m) != nil || now.Sub(m.CreatedAt) > MaxAge {
				continue
			}
			seen[e.ConversationID] = true
			owed = append(owed, &parley.ReplyEmail{ConversationID: e.ConversationID, FromSeq: m.Seq, DueAt: m.CreatedAt.Add(delay)})
		}
		last := events[len(events)-1].Seq
		if err := s.store.QueueReplyEmails(ctx, acc.ID, owed, cursor, last); err != nil {
			if parley.ErrorCode(err) == parley.ECONFLICT {
				return nil // another node read them; next round
			}
			return err
		}
		cursor = last
		if len(events) < s.Batch {
			return nil
		}
	}
}

// send tries each due email once.
func (s *Service) send(ctx context.Context, now time.Time) error {
	due, err := s.store.DueReplyEmails(ctx, now, s.Batch)
	if err != nil {
		return err
	}
	for _, e := range due {
		if ctx.Err() != nil {
			return nil
		}
		s.attempt(ctx, e, now)
	}
	return nil
}

// attempt sends one email, or skips it, and records what happened.
func (s *Service) attempt(ctx context.Context, e *parley.ReplyEmail, now time.Time) {
	letter, why, err := s.compose(ctx, e, now)
	switch {
	case err != nil:
		s.log.Warn("email replies: compose", "email", e.ID, "err", err)
		return // read again next round
	case letter == nil:
		e.State, e.LastError = parley.ReplyEmailSkipped, why
	default:
		err = s.deliver(ctx, letter)
		if ctx.Err() != nil {
			return // shutting down: still pending, tried after restart
		}
		e.Attempts++
		var perm *PermanentError
		switch {
		case err == nil:
			e.State, e.LastError, e.SentAt = parley.ReplyEmailSent, "", &now
		case errors.As(err, &perm) || e.Attempts > len(s.Backoff):
			e.State, e.LastError = parley.ReplyEmailFailed, truncate(err.Error(), 500)
		default:
			e.LastError, e.DueAt = truncate(err.Error(), 500), now.Add(s.Backoff[e.Attempts-1])
		}
		if err != nil {
			s.log.Warn("email replies: send", "email", e.ID, "account", e.AccountID, "attempt", e.Attempts, "err", err)
		}
	}
	if err := s.store.FinishReplyEmail(context.WithoutCancel(ctx), e); err != nil && parley.ErrorCode(err) != parley.ECONFLICT {
		s.log.Warn("email replies: record", "email", e.ID, "err", err)
		return
	}
	if s.Outcome != nil && e.State != parley.ReplyEmailPending {
		s.Outcome(e.State)
	}
}

func (s *Service) deliver(ctx context.Context, l *Letter) error {
	msg, err := l.Bytes()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	return s.mailer.Send(sctx, s.from, []string{l.To.Address}, msg)
}

// recipient returns an email's conversation and the address of its
// visitor; with no conversation, why there is no one to write to (or the
// error that stopped it being known).
func (s *Service) recipient(ctx context.Context, accountID, conversationID string) (*parley.Conversation, *mail.Address, string, error) {
	conv, err := s.store.FindConversation(ctx, accountID, conversationID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, nil, "the conversation is gone", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	visitor, err := s.store.FindConsumer(ctx, accountID, conv.ConsumerID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return nil, nil, "the visitor is gone", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	if visitor.Blocked {
		return nil, nil, "the visitor is blocked", nil
	}
	to, err := mail.ParseAddress(visitor.Email)
	if visitor.Email == "" || err != nil {
		return nil, nil, "the visitor gave no email address", nil
	}
	to.Name = visitor.Name
	return conv, to, "", nil
}

// compose builds the letter, or says why there is none to send.
func (s *Service) compose(ctx context.Context, e *parley.ReplyEmail, now time.Time) (*Letter, string, error) {
	acc, err := s.store.FindAccount(ctx, e.AccountID)
	if err != nil {
		return nil, "", err
	}
	settings := acc.Settings.EmailReplies
	if e.Kind == parley.EmailKindSurvey {
		return s.composeSurvey(ctx, acc, e, now)
	}
	if !settings.Enabled {
		return nil, "email replies were turned off", nil
	}
	conv, to, why, err := s.recipient(ctx, acc.ID, e.ConversationID)
	if conv == nil {
		return nil, why, err
	}
	msgs, err := s.store.ListMessages(ctx, acc.ID, conv.ID, e.FromSeq-1, 100)
	if err != nil {
		return nil, "", err
	}
	var lines []Line
	for _, m := range msgs {
		if m.SenderKind != parley.SenderAgent || m.Seq <= conv.ConsumerReadSeq || m.Redacted != nil {
			continue // a removed reply is not mailed
		}
		text := m.Text
		if m.Attachment != nil {
			text = strings.TrimSpace(text + "\n📎 " + m.Attachment.Name)
		}
		lines = append(lines, Line{Who: m.SenderName, Text: text, At: m.CreatedAt})
		e.ThroughSeq = m.Seq
	}
	if len(lines) == 0 {
		return nil, "the visitor read it in the chat", nil
	}
	e.Messages = len(lines)
	brand := settings.FromName
	if brand == "" {
		brand = acc.Name
	}
	p := phrasebook(acc.Settings.Widget.Language)
	l := &Letter{
		From:    mail.Address{Name: brand, Address: s.from},
		To:      *to,
		ReplyTo: settings.ReplyTo,
		Subject: strings.ReplaceAll(p.subject, "{brand}", brand),
		Intro:   strings.ReplaceAll(p.intro, "{brand}", brand),
		Lines:   lines,
		Footer:  strings.ReplaceAll(p.footer, "{brand}", brand),
		ID:      e.ID,
		Thread:  conv.ID,
		Date:    now,
	}
	if settings.SiteURL != "" {
		l.LinkText, l.Link = p.link, settings.SiteURL
	}
	if s.Inbound != nil {
		token, err := s.store.ReplyAddress(ctx, acc.ID, conv.ID, NewReplyToken())
		if err != nil {
			return nil, "", err
		}
		l.ReplyTo = s.Inbound.Address(token)
	}
	return l, "", nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// phrases are the email's own words in the widget's languages.
type phrases struct {
	subject, intro, link, footer             string
	surveySubject, surveyIntro, surveyFooter string
	scores                                   [5]string
	// The transcript a visitor asks for: its subject, intro and footer,
	// and how the visitor and the bot are named in it.
	transcriptSubject, transcriptIntro, transcriptFooter, you, assistant string
}

var phrasebooks = map[string]phrases{
	"en": {"{brand} replied to your message", "{brand} replied in your chat:", "Continue the conversation on our site:",
		"You get this email because you gave this address in a chat with {brand} and had not seen this reply there.",
		"How did {brand} do?", "Your conversation with {brand} has ended. How would you rate it?",
		"You get this email because you gave this address in a chat with {brand}. One click records your rating; you may add a comment.",
		[5]string{"Very poor", "Poor", "OK", "Good", "Excellent"},
		"Your conversation with {brand}", "Here is your conversation with {brand}, as you asked:",
		"You get this email because you asked for it in a chat with {brand}.", "You", "Assistant"},
	"es": {"{brand} ha respondido a tu mensaje", "{brand} ha respondido en tu chat:", "Sigue la conversación en nuestra web:",
		"Recibes este correo porque diste esta dirección en un chat con {brand} y no habías visto allí esta respuesta.",
		"¿Qué tal te atendió {brand}?", "Tu conversación con {brand} ha terminado. ¿Cómo la valorarías?",
		"Recibes este correo porque diste esta dirección en un chat con {brand}. Un clic registra tu valoración; puedes añadir un comentario.",
		[5]string{"Muy mala", "Mala", "Normal", "Buena", "Excelente"},
		"Tu conversación con {brand}", "Aquí tienes tu conversación con {brand}, como pediste:",
		"Recibes este correo porque lo pediste en un chat con {brand}.", "Tú", "Asistente"},
	"fr": {"{brand} a répondu à votre message", "{brand} a répondu dans votre discussion :", "Poursuivez la conversation sur notre site :",
		"Vous recevez cet e-mail car vous avez donné cette adresse dans une discussion avec {brand} et n'y aviez pas vu cette réponse.",
		"Comment {brand} s'en est-il sorti ?", "Votre discussion avec {brand} est terminée. Comment l'évaluez-vous ?",
		"Vous recevez cet e-mail car vous avez donné cette adresse dans une discussion avec {brand}. Un clic enregistre votre note ; vous pouvez ajouter un commentaire.",
		[5]string{"Très mauvais", "Mauvais", "Correct", "Bon", "Excellent"},
		"Votre discussion avec {brand}", "Voici votre discussion avec {brand}, comme demandé :",
		"Vous recevez cet e-mail car vous l'avez demandé dans une discussion avec {brand}.", "Vous", "Assistant"},
	"de": {"{brand} hat auf Ihre Nachricht geantwortet", "{brand} hat in Ihrem Chat geantwortet:", "Setzen Sie das Gespräch auf unserer Website fort:",
		"Sie erhalten diese E-Mail, weil Sie diese Adresse in einem Chat mit {brand} angegeben und die Antwort dort noch nicht gesehen haben.",
		"Wie war {brand}?", "Ihr Gespräch mit {brand} ist beendet. Wie bewerten Sie es?",
		"Sie erhalten diese E-Mail, weil Sie diese Adresse in einem Chat mit {brand} angegeben haben. Ein Klick speichert Ihre Bewertung; ein Kommentar ist möglich.",
		[5]string{"Sehr schlecht", "Schlecht", "Okay", "Gut", "Ausgezeichnet"},
		"Ihr Gespräch mit {brand}", "Hier ist Ihr Gespräch mit {brand}, wie gewünscht:",
		"Sie erhalten diese E-Mail, weil Sie sie in einem Chat mit {brand} angefordert haben.", "Sie", "Assistent"},
	"it": {"{brand} ha risposto al tuo messaggio", "{brand} ha risposto nella tua chat:", "Continua la conversazione sul nostro sito:",
		"Ricevi questa email perché hai indicato questo indirizzo in una chat con {brand} e non avevi ancora visto questa risposta.",
		"Com'è andata con {brand}?", "La tua conversazione con {brand} è terminata. Come la valuteresti?",
		"Ricevi questa email perché hai indicato questo indirizzo in una chat con {brand}. Un clic registra la tua valutazione; puoi aggiungere un commento.",
		[5]string{"Pessima", "Scarsa", "Nella media", "Buona", "Eccellente"},
		"La tua conversazione con {brand}", "Ecco la tua conversazione con {brand}, come hai chiesto:",
		"Ricevi questa email perché l'hai chiesta in una chat con {brand}.", "Tu", "Assistente"},
	"nl": {"{brand} heeft op je bericht geantwoord", "{brand} heeft in je chat geantwoord:", "Ga verder met het gesprek op onze website:",
		"Je krijgt deze e-mail omdat je dit adres in een chat met {brand} hebt gegeven en dit antwoord daar nog niet had gezien.",
		"Hoe deed {brand} het?", "Je gesprek met {brand} is afgelopen. Welk cijfer geef je het?",
		"Je krijgt deze e-mail omdat je dit adres in een chat met {brand} hebt gegeven. Eén klik slaat je beoordeling op; je kunt een opmerking toevoegen.",
		[5]string{"Heel slecht", "Slecht", "Redelijk", "Goed", "Uitstekend"},
		"Je gesprek met {brand}", "Hier is je gesprek met {brand}, zoals gevraagd:",
		"Je krijgt deze e-mail omdat je erom hebt gevraagd in een chat met {brand}.", "Jij", "Assistent"},
	"pt": {"{brand} respondeu à sua mensagem", "{brand} respondeu no seu chat:", "Continue a conversa no nosso site:",
		"Recebe este email porque deu este endereço num chat com {brand} e ainda não tinha visto esta resposta.",
		"Como correu com {brand}?", "A sua conversa com {brand} terminou. Como a avaliaria?",
		"Recebe este email porque deu este endereço num chat com {brand}. Um clique regista a sua avaliação; pode acrescentar um comentário.",
		[5]string{"Muito má", "Má", "Razoável", "Boa", "Excelente"},
		"A sua conversa com {brand}", "Aqui está a sua conversa com {brand}, como pediu:",
		"Recebe este email porque o pediu num chat com {brand}.", "Você", "Assistente"},
	"sv": {"{brand} har svarat på ditt meddelande", "{brand} har svarat i din chatt:", "Fortsätt konversationen på vår webbplats:",
		"Du får det här mejlet eftersom du angav den här adressen i en chatt med {brand} och inte hade sett svaret där.",
		"Hur gick det med {brand}?", "Din konversation med {brand} är avslutad. Vilket betyg ger du den?",
		"Du får det här mejlet eftersom du angav den här adressen i en chatt med {brand}. Ett klick sparar ditt betyg; du kan lägga till en kommentar.",
		[5]string{"Mycket dålig", "Dålig", "Okej", "Bra", "Utmärkt"},
		"Din konversation med {brand}", "Här är din konversation med {brand}, som du bad om:",
		"Du får det här mejlet eftersom du bad om det i en chatt med {brand}.", "Du", "Assistent"},
	"da": {"{brand} har svaret på din besked", "{brand} har svaret i din chat:", "Fortsæt samtalen på vores website:",
		"Du får denne e-mail, fordi du gav denne adresse i en chat med {brand} og ikke havde set svaret dér.",
		"Hvordan klarede {brand} sig?", "Din samtale med {brand} er afsluttet. Hvordan vil du bedømme den?",
		"Du får denne e-mail, fordi du gav denne adresse i en chat med {brand}. Et klik gemmer din bedømmelse; du kan tilføje en kommentar.",
		[5]string{"Meget dårlig", "Dårlig", "Okay", "God", "Fremragende"},
		"Din samtale med {brand}", "Her er din samtale med {brand}, som du bad om:",
		"Du får denne e-mail, fordi du bad om den i en chat med {brand}.", "Dig", "Assistent"},
	"nb": {"{brand} har svart på meldingen din", "{brand} har svart i chatten din:", "Fortsett samtalen på nettstedet vårt:",
		"Du får denne e-posten fordi du oppga denne adressen i en chat med {brand} og ikke hadde sett svaret der.",
		"Hvordan gikk det med {brand}?", "Samtalen din med {brand} er avsluttet. Hvordan vil du vurdere den?",
		"Du får denne e-posten fordi du oppga denne adressen i en chat med {brand}. Ett klikk lagrer vurderingen din; du kan legge til en kommentar.",
		[5]string{"Svært dårlig", "Dårlig", "Greit", "Bra", "Utmerket"},
		"Samtalen din med {brand}", "Her er samtalen din med {brand}, slik du ba om:",
		"Du får denne e-posten fordi du ba om den i en chat med {brand}.", "Du", "Assistent"},
	// Finnish inflects names; {brand} stands where its basic form reads
	// right: as a subject, or after "yritys" (the company), which takes
	// the case instead.
	"fi": {"{brand} vastasi viestiisi", "{brand} vastasi chatissasi:", "Jatka keskustelua sivustollamme:",
		"Saat tämän viestin, koska annoit tämän osoitteen chatissa yrityksen {brand} kanssa etkä ollut nähnyt vastausta siellä.",
		"Miten {brand} onnistui?", "Keskustelusi yrityksen {brand} kanssa on päättynyt. Millaisen arvion antaisit sille?",
		"Saat tämän viestin, koska annoit tämän osoitteen chatissa yrityksen {brand} kanssa. Yksi napsautus tallentaa arviosi; voit lisätä kommentin.",
		[5]string{"Erittäin huono", "Huono", "Kohtalainen", "Hyvä", "Erinomainen"},
		"Keskustelusi yrityksen {brand} kanssa", "Tässä on keskustelusi yrityksen {brand} kanssa, kuten pyysit:",
		"Saat tämän viestin, koska pyysit sitä chatissa yrityksen {brand} kanssa.", "Sinä", "Avustaja"},
}

func phrasebook(lang string) phrases {
	if p, ok := phrasebooks[lang]; ok {
		return p
	}
	return phrasebooks["en"]
}

// Transcript mails a conversation to its visitor, at their request from the
// widget (Chatwoot's and Zendesk's "email the transcript"), in lang (the
// widget's; the brand's when empty): every message but the system's, the
// files named. It writes email.sent of kind transcript, or email.failed,
// and returns the mail server's refusal as unavailable.
func (s *Service) Transcript(ctx context.Context, accountID, conversationID, lang string) error {
	acc, err := s.store.FindAccount(ctx, accountID)
	if err != nil {
		return err
	}
	conv, to, why, err := s.recipient(ctx, acc.ID, conversationID)
	if err != nil {
		return err
	}
	if conv == nil {
		return parley.Errorf(parley.ECONFLICT, "no transcript can be mailed: %s", why)
	}
	if lang == "" {
		lang = acc.Settings.Widget.Language
	}
	p := phrasebook(lang)
	var lines []Line
	after := int64(0)
	for {
		msgs, err := s.store.ListMessages(ctx, acc.ID, conv.ID, after, 500)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			after = m.Seq
			who := m.SenderName
			if m.Redacted != nil {
				continue // staff removed what it said
			}
			switch m.SenderKind {
			case parley.SenderSystem:
				continue
			case parley.SenderConsumer:
				who = p.you
			case parley.SenderBot:
				who = p.assistant
			}
			text := m.Text
			if m.Attachment != nil {
				text = strings.TrimSpace(text + "\n📎 " + m.Attachment.Name)
			}
			lines = append(lines, Line{Who: who, Text: text, At: m.CreatedAt})
		}
		if len(msgs) < 500 {
			break
		}
	}
	brand := acc.Settings.EmailReplies.FromName
	if brand == "" {
		brand = acc.Name
	}
	id := parley.NewID("eml")
	l := &Letter{
		From:    mail.Address{Name: brand, Address: s.from},
		To:      *to,
		ReplyTo: acc.Settings.EmailReplies.ReplyTo,
		Subject: strings.ReplaceAll(p.transcriptSubject, "{brand}", brand),
		Intro:   strings.ReplaceAll(p.transcriptIntro, "{brand}", brand),
		Lines:   lines,
		Footer:  strings.ReplaceAll(p.transcriptFooter, "{brand}", brand),
		ID:      id,
		Thread:  conv.ID,
		Date:    time.Now(),
	}
	report := parley.EmailReport{EmailID: id, Kind: parley.EmailKindTranscript, Messages: len(lines)}
	if err := s.deliver(ctx, l); err != nil {
		report.Error = err.Error()
		data, _ := json.Marshal(report)
		s.store.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventEmailFailed, ConversationID: conv.ID, Data: data})
		return parley.Errorf(parley.EUNAVAILABLE, "the mail server did not take the transcript; try again later")
	}
	data, _ := json.Marshal(report)
	return s.store.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventEmailSent, ConversationID: conv.ID, Data: data})
}
