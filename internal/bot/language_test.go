package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/bot/nlu"
)

// frenchBot is a small French bot: two articles and an intent.
const frenchBot = `
enabled: true
name: Assistant Northwind
language: fr
articles:
  - id: livraison
    title: Délais et frais de livraison
    body: La livraison standard prend **3 à 5 jours ouvrés**.
    questions:
      - Quand ma commande sera-t-elle livrée ?
      - Combien coûte la livraison ?
      - Livrez-vous en express ?
  - id: retours
    title: Retours et remboursements
    body: Vous pouvez retourner un article sous **30 jours**.
    questions:
      - Comment retourner un article ?
      - Quand serai-je remboursé ?
      - Quelle est votre politique de retour ?
intents:
  - name: suivi_commande
    phrases:
      - Où est ma commande ?
      - Je voudrais suivre mon colis
      - Mon colis n'est pas arrivé
      - numéro de suivi
    answer: Suivez votre colis depuis *Mes commandes*.
`

func TestABotSpeaksItsBrandsLanguage(t *testing.T) {
	cfg, err := Parse("fr.yaml", []byte(frenchBot), demoSkills, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	b := Compile(cfg, demoSkills)
	ctx := context.Background()

	// Inflected forms and missing accents still find the article: "livrées"
	// and "remboursee" are not in any phrase.
	for q, want := range map[string]string{
		"mes commandes sont livrées quand ?": "article:livraison",
		"je serai remboursee quand":          "article:retours",
		"je voudrais suivre mes colis svp":   "intent:suivi_commande",
		"Où en est mon numero de suivi ?":    "intent:suivi_commande",
	} {
		sess := &Session{}
		turn := b.Reply(ctx, sess, q, open)
		if turn.Band != BandAnswer || turn.Intent != want {
			t.Errorf("%q: band %s intent %s (%.2f), want an answer from %s", q, turn.Band, turn.Intent, turn.Confidence, want)
			continue
		}
		// The bot's own words are French, and so are the replies it understands.
		if got := turn.Messages[1]; got.Text != "Cela vous a-t-il aidé ?" || got.Choices[0].Label != "Oui" || got.Choices[2].Label != "Parler à quelqu'un" {
			t.Fatalf("feedback question: %+v", got)
		}
		if fb := b.Reply(ctx, sess, "oui", open); len(fb.Events) != 1 || fb.Events[0].Data["helpful"] != true {
			t.Fatalf("'oui' after an answer: %+v", fb)
		}
	}

	// Asking for a person, in French, hands off with the French default message.
	turn := b.Reply(ctx, &Session{}, "je veux parler à un conseiller", open)
	if turn.Handoff == nil || !strings.HasPrefix(turn.Messages[0].Text, "Je vous mets en relation") {
		t.Fatalf("asking for a person: %+v", turn)
	}
	// Not understood: the French default fallback, and a French way out.
	turn = b.Reply(ctx, &Session{}, "qsdfghjklm", open)
	if turn.Band != BandMiss || !strings.HasPrefix(turn.Messages[0].Text, "Désolé") || turn.Messages[0].Choices[0].Label != "Parler à quelqu'un" {
		t.Fatalf("a miss: band %s %+v", turn.Band, turn.Messages)
	}
}

func TestEveryLanguageHasTheBotsOwnWords(t *testing.T) {
	for code, say := range phrasebooks {
		for name, s := range map[string]string{"didThisHelp": say.didThisHelp, "yes": say.yes, "no": say.no, "talkToPerson": say.talkToPerson,
			"didYouMean": say.didYouMean, "somethingElse": say.somethingElse, "glad": say.glad, "sorryTellMore": say.sorryTellMore,
			"pickOption": say.pickOption, "badEmail": say.badEmail, "badNumber": say.badNumber, "answerAgain": say.answerAgain,
			"fallback": say.fallback, "handoff": say.handoff, "handoffClosed": say.handoffClosed} {
			if s == "" {
				t.Errorf("%s: %s is empty", code, name)
			}
		}
		if len(say.handoffPhrases) < 10 || say.askedForPerson == nil {
			t.Errorf("%s: the built-in handoff intent needs its phrases and pattern", code)
		}
		for _, p := range say.handoffPhrases[:3] {
			if !say.askedForPerson.MatchString(p) {
				t.Errorf("%s: the plain request %q is left to the classifier", code, p)
			}
		}
	}
	if _, err := Parse("de.yaml", []byte("language: de\n"), nil, DefaultLimits); err != nil {
		t.Fatalf("German: %v", err)
	}
	_, err := Parse("xx.yaml", []byte("language: xx\n"), nil, DefaultLimits)
	if err == nil || !strings.Contains(err.Error(), "language") || !strings.Contains(err.Error(), "da, de, en, es, fi, fr, it, nb, nl, pt, sv") {
		t.Fatalf("an unknown language: %v", err)
	}
	for _, code := range nlu.Languages() {
		if phrasebooks[code] == nil {
			t.Errorf("%s: the NLU speaks it, the bot has no words in it", code)
		}
	}
}

// TestTheBotAnswersAndHandsOverInEachLanguage: in Italian, Dutch,
// Portuguese, Swedish, Danish and Norwegian, a small bot finds
// the article for a question in other words and other forms than its
// phrases, and someone asking for a person is handed over with the
// language's own message.
func TestTheBotAnswersAndHandsOverInEachLanguage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		lang, config, question, person, handoff string
	}{
		{"it", `
language: it
articles:
  - id: spedizione
    title: Tempi e costi di spedizione
    body: La spedizione standard richiede da 3 a 5 giorni lavorativi.
    questions: ["Quando arriva il mio ordine?", "Quanto costa la spedizione?"]
  - id: resi
    title: Resi e rimborsi
    body: Puoi restituire un articolo entro 30 giorni.
    questions: ["Come restituisco un articolo?", "Quando ricevo il rimborso?"]
`, "quando arrivano i miei ordini", "vorrei parlare con un operatore", "Ti metto in contatto"},
		{"nl", `
language: nl
articles:
  - id: verzending
    title: Levertijden en verzendkosten
    body: Standaardlevering duurt 3 tot 5 werkdagen.
    questions: ["Wanneer komt mijn bestelling aan?", "Wat kost de verzending?"]
  - id: retour
    title: Retourneren en terugbetalen
    body: Je kunt een artikel binnen 30 dagen terugsturen.
    questions: ["Hoe stuur ik een artikel terug?", "Wanneer krijg ik mijn geld terug?"]
`, "wanneer komen mijn bestellingen aan", "ik wil een medewerker spreken", "Ik verbind je"},
		{"pt", `
language: pt
articles:
  - id: envio
    title: Prazos e custos de envio
    body: O envio normal demora 3 a 5 dias úteis.
    questions: ["Quando chega a minha encomenda?", "Quanto custa o envio?"]
  - id: devolucoes
    title: Devoluções e reembolsos
    body: Pode devolver um artigo no prazo de 30 dias.
    questions: ["Como devolvo um artigo?", "Quando recebo o reembolso?"]
`, "quando chegam as minhas encomendas", "quero falar com uma pessoa real", "Vou ligá-lo"},
		{"sv", `
language: sv
articles:
  - id: leverans
    title: Leveranstider och fraktkostnader
    body: Standardleverans tar 3 till 5 arbetsdagar.
    questions: ["När kommer min beställning?", "Vad kostar frakten?"]
  - id: retur
    title: Returer och återbetalningar
    body: Du kan returnera en vara inom 30 dagar.
    questions: ["Hur returnerar jag en vara?", "När får jag pengarna tillbaka?"]
`, "när kommer mina beställningar", "jag vill prata med en riktig människa", "Jag kopplar dig"},
		{"da", `
language: da
articles:
  - id: levering
    title: Leveringstider og fragtpriser
    body: Standardlevering tager 3 til 5 hverdage.
    questions: ["Hvornår kommer min bestilling?", "Hvad koster fragten?"]
  - id: retur
    title: Returnering og refusion
    body: Du kan returnere en vare inden for 30 dage.
    questions: ["Hvordan returnerer jeg en vare?", "Hvornår får jeg pengene tilbage?"]
`, "hvornår kommer mine bestillinger", "jeg vil tale med en medarbejder", "Jeg sætter dig"},
		{"nb", `
language: nb
articles:
  - id: levering
    title: Leveringstid og fraktkostnader
    body: Vanlig levering tar 3 til 5 virkedager.
    questions: ["Når kommer bestillingen min?", "Hva koster frakten?"]
  - id: retur
    title: Retur og refusjon
    body: Du kan returnere en vare innen 30 dager.
    questions: ["Hvordan returnerer jeg en vare?", "Når får jeg pengene tilbake?"]
`, "når kommer bestillingene mine", "kan jeg snakke med en rådgiver", "Jeg setter deg"},
		{"fi", `
language: fi
articles:
  - id: toimitus
    title: Toimitusajat ja toimituskulut
    body: Tavallinen toimitus kestää 3–5 arkipäivää.
    questions: ["Milloin tilaukseni saapuu?", "Paljonko toimitus maksaa?"]
  - id: palautus
    title: Palautukset ja hyvitykset
    body: Voit palauttaa tuotteen 30 päivän kuluessa.
    questions: ["Miten palautan tuotteen?", "Milloin saan rahani takaisin?"]
`, "milloin tilaukseni saapuvat", "haluaisin puhua oikean ihmisen kanssa", "Yhdistän sinut"},
	} {
		cfg, err := Parse(tc.lang+".yaml", []byte("enabled: true\n"+tc.config), demoSkills, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", tc.lang, err)
		}
		b := Compile(cfg, demoSkills)
		first := cfg.Articles[0].ID
		if turn := b.Reply(ctx, &Session{}, tc.question, open); turn.Band != BandAnswer || turn.Intent != "article:"+first {
			t.Errorf("%s: %q: band %s %s (%.2f), want %s", tc.lang, tc.question, turn.Band, turn.Intent, turn.Confidence, first)
		} else if say := phrasebooks[tc.lang]; turn.Messages[1].Text != say.didThisHelp {
			t.Errorf("%s: the feedback question %q", tc.lang, turn.Messages[1].Text)
		}
		if turn := b.Reply(ctx, &Session{}, tc.person, open); turn.Handoff == nil || !strings.HasPrefix(turn.Messages[0].Text, tc.handoff) {
			t.Errorf("%s: asking for a person: %+v", tc.lang, turn.Messages)
		}
	}
}
