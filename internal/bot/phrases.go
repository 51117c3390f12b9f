package bot

import "regexp"

// phrasebook is what the bot says and understands of its own, in the
// bot's language: the feedback and confirm quick replies, validation
// retries, the default fallback and handoff messages, and the phrases of
// the built-in "I want a person" intent. An admin's own texts (greeting,
// fallback, handoff messages, answers) are used as written.
type phrasebook struct {
	didThisHelp, yes, no, talkToPerson string
	didYouMean, somethingElse          string
	glad, sorryTellMore                string

	pickOption, badEmail, badNumber, answerAgain string

	fallback, handoff, handoffClosed string

	// handoffPhrases train the built-in "I want a person" intent.
	handoffPhrases []string
	// askedForPerson catches the plainest requests even when the
	// classifier is unsure.
	askedForPerson *regexp.Regexp
}

// phrasebooks are keyed by language code; every nlu language has one.
var phrasebooks = map[string]*phrasebook{
	"en": {
		didThisHelp: "Did this help?", yes: "Yes", no: "No", talkToPerson: "Talk to a person",
		didYouMean: "Did you mean one of these?", somethingElse: "Something else",
		glad:          "Glad I could help. Is there anything else?",
		sorryTellMore: "Sorry about that. Could you tell me more, in other words? Or talk to a person.",
		pickOption:    "Please pick one of the options.",
		badEmail:      "That doesn't look like an email address. Could you check it?",
		badNumber:     "Please answer with a number.",
		answerAgain:   "Sorry, could you answer that again?",
		fallback:      "Sorry, I didn't get that. Could you say it another way?",
		handoff:       "I'm connecting you with a member of our team. They'll see our conversation so far.",
		handoffClosed: "Our team is away right now. Leave your message here and they'll reply in this conversation when they're back.",
		handoffPhrases: []string{
			"talk to a human", "speak to a person", "I want to talk to a real person", "can I speak with an agent",
			"connect me to customer service", "let me talk to someone", "human please", "agent please", "representative",
			"I need a human being", "get me a live agent", "is there a person I can chat with", "transfer me to support staff",
			"operator", "talk to someone from your team", "I'd rather speak to a person",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(human|humans|live agent|an agent|real person|a person|someone real|representative|operator|talk to (someone|somebody))\b`),
	},
	"es": {
		didThisHelp: "¿Te ha servido?", yes: "Sí", no: "No", talkToPerson: "Hablar con una persona",
		didYouMean: "¿Te refieres a alguno de estos?", somethingElse: "Otra cosa",
		glad:          "Me alegra haberte ayudado. ¿Algo más?",
		sorryTellMore: "Lo siento. ¿Puedes contármelo con otras palabras? O habla con una persona.",
		pickOption:    "Elige una de las opciones, por favor.",
		badEmail:      "Eso no parece un correo electrónico. ¿Puedes revisarlo?",
		badNumber:     "Responde con un número, por favor.",
		answerAgain:   "Perdona, ¿puedes responder otra vez?",
		fallback:      "Perdona, no lo he entendido. ¿Puedes decirlo de otra forma?",
		handoff:       "Te paso con una persona de nuestro equipo. Verá la conversación hasta ahora.",
		handoffClosed: "Nuestro equipo no está disponible ahora. Deja aquí tu mensaje y te responderán en esta conversación cuando vuelvan.",
		handoffPhrases: []string{
			"hablar con una persona", "quiero hablar con un humano", "pásame con un agente", "quiero un agente",
			"necesito hablar con alguien", "atención al cliente", "hablar con un operador", "una persona real por favor",
			"agente por favor", "con un humano", "puedo hablar con alguien de vuestro equipo", "prefiero hablar con una persona",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(humano|una persona|persona real|un agente|agente humano|operador|operadora|hablar con alguien)\b`),
	},
	"fr": {
		didThisHelp: "Cela vous a-t-il aidé ?", yes: "Oui", no: "Non", talkToPerson: "Parler à quelqu'un",
		didYouMean: "Vouliez-vous dire l'un de ces sujets ?", somethingElse: "Autre chose",
		glad:          "Ravi d'avoir pu vous aider. Autre chose ?",
		sorryTellMore: "Désolé. Pouvez-vous m'en dire plus, avec d'autres mots ? Ou parler à quelqu'un.",
		pickOption:    "Choisissez l'une des options, s'il vous plaît.",
		badEmail:      "Cela ne ressemble pas à une adresse e-mail. Pouvez-vous vérifier ?",
		badNumber:     "Répondez par un nombre, s'il vous plaît.",
		answerAgain:   "Pardon, pouvez-vous répondre à nouveau ?",
		fallback:      "Désolé, je n'ai pas compris. Pouvez-vous le dire autrement ?",
		handoff:       "Je vous mets en relation avec un membre de notre équipe. Il verra notre conversation.",
		handoffClosed: "Notre équipe est absente pour le moment. Laissez votre message ici : elle vous répondra dans cette conversation à son retour.",
		handoffPhrases: []string{
			"parler à quelqu'un", "parler à un humain", "je veux parler à une vraie personne", "passez-moi un conseiller",
			"je voudrais un agent", "service client", "un conseiller s'il vous plaît", "mettez-moi en relation avec quelqu'un",
			"un humain svp", "je préfère parler à une personne", "est-ce que je peux parler à quelqu'un de votre équipe", "opérateur",
		},
		askedForPerson: regexp.MustCompile(`(?i)(\bhumain\b|\bune personne\b|\bvraie personne\b|\bconseill(er|ère)\b|\bun agent\b|\bopérat(eur|rice)\b|\bparler à quelqu'un)`),
	},
	"de": {
		didThisHelp: "Hat das geholfen?", yes: "Ja", no: "Nein", talkToPerson: "Mit einem Menschen sprechen",
		didYouMean: "Meinten Sie eines davon?", somethingElse: "Etwas anderes",
		glad:          "Schön, dass ich helfen konnte. Noch etwas?",
		sorryTellMore: "Das tut mir leid. Können Sie es mit anderen Worten sagen? Oder sprechen Sie mit einem Menschen.",
		pickOption:    "Bitte wählen Sie eine der Optionen.",
		badEmail:      "Das sieht nicht wie eine E-Mail-Adresse aus. Können Sie sie prüfen?",
		badNumber:     "Bitte antworten Sie mit einer Zahl.",
		answerAgain:   "Entschuldigung, können Sie das noch einmal beantworten?",
		fallback:      "Entschuldigung, das habe ich nicht verstanden. Können Sie es anders sagen?",
		handoff:       "Ich verbinde Sie mit jemandem aus unserem Team. Er sieht unser bisheriges Gespräch.",
		handoffClosed: "Unser Team ist gerade nicht da. Hinterlassen Sie hier Ihre Nachricht; wir antworten in diesem Gespräch, sobald wir zurück sind.",
		handoffPhrases: []string{
			"mit einem Menschen sprechen", "ich möchte mit einer echten Person sprechen", "verbinden Sie mich mit einem Mitarbeiter",
			"Kundenservice", "einen Berater bitte", "kann ich mit jemandem sprechen", "Mitarbeiter bitte", "echter Mensch",
			"ich brauche einen Menschen", "lieber mit einer Person sprechen", "Kundendienst bitte", "mit jemandem aus Ihrem Team sprechen",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(mensch|menschen|echten? person|einer person|mitarbeiter|mitarbeiterin|berater|beraterin|kundendienst|mit jemandem sprechen)\b`),
	},
	"it": {
		didThisHelp: "Ti è stato utile?", yes: "Sì", no: "No", talkToPerson: "Parla con una persona",
		didYouMean: "Intendevi uno di questi?", somethingElse: "Altro",
		glad:          "Felice di esserti stato utile. Posso aiutarti in altro?",
		sorryTellMore: "Mi dispiace. Puoi spiegarmelo con altre parole? Oppure parla con una persona.",
		pickOption:    "Scegli una delle opzioni, per favore.",
		badEmail:      "Non sembra un indirizzo email. Puoi controllarlo?",
		badNumber:     "Rispondi con un numero, per favore.",
		answerAgain:   "Scusa, puoi rispondere di nuovo?",
		fallback:      "Scusa, non ho capito. Puoi dirlo in un altro modo?",
		handoff:       "Ti metto in contatto con una persona del nostro team. Vedrà la conversazione fin qui.",
		handoffClosed: "Il nostro team al momento non è disponibile. Lascia qui il tuo messaggio: ti risponderà in questa conversazione appena torna.",
		handoffPhrases: []string{
			"parlare con una persona", "voglio parlare con un operatore", "passami un operatore", "vorrei un agente",
			"ho bisogno di parlare con qualcuno", "servizio clienti", "una persona vera per favore", "operatore per favore",
			"con un essere umano", "posso parlare con qualcuno del vostro team", "preferisco parlare con una persona", "assistenza umana",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(umano|una persona|persona vera|persona reale|un operatore|operatrice|un agente|parlare con qualcuno)\b`),
	},
	"nl": {
		didThisHelp: "Heeft dit geholpen?", yes: "Ja", no: "Nee", talkToPerson: "Met een medewerker praten",
		didYouMean: "Bedoelde je een van deze?", somethingElse: "Iets anders",
		glad:          "Fijn dat ik kon helpen. Kan ik nog iets voor je doen?",
		sorryTellMore: "Sorry. Kun je het met andere woorden zeggen? Of praat met een medewerker.",
		pickOption:    "Kies een van de opties, alsjeblieft.",
		badEmail:      "Dat lijkt geen e-mailadres. Kun je het controleren?",
		badNumber:     "Antwoord met een getal, alsjeblieft.",
		answerAgain:   "Sorry, kun je dat nog een keer beantwoorden?",
		fallback:      "Sorry, dat begreep ik niet. Kun je het anders zeggen?",
		handoff:       "Ik verbind je met iemand van ons team. Die ziet ons gesprek tot nu toe.",
		handoffClosed: "Ons team is er nu niet. Laat hier je bericht achter; we antwoorden in dit gesprek zodra we terug zijn.",
		handoffPhrases: []string{
			"met een mens praten", "ik wil met een echt persoon praten", "verbind me met een medewerker", "ik wil een medewerker",
			"klantenservice", "kan ik iemand spreken", "medewerker graag", "een echt mens", "ik heb een mens nodig",
			"liever met een persoon praten", "met iemand van jullie team praten", "doorverbinden met de helpdesk",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(mens|mensen|echt persoon|echte persoon|een persoon|medewerker|medewerkster|klantenservice|iemand spreken)\b`),
	},
	"pt": {
		didThisHelp: "Isto ajudou?", yes: "Sim", no: "Não", talkToPerson: "Falar com uma pessoa",
		didYouMean: "Quis dizer um destes?", somethingElse: "Outra coisa",
		glad:          "Ainda bem que ajudei. Há mais alguma coisa?",
		sorryTellMore: "Desculpe. Pode explicar por outras palavras? Ou fale com uma pessoa.",
		pickOption:    "Escolha uma das opções, por favor.",
		badEmail:      "Isso não parece um endereço de email. Pode verificar?",
		badNumber:     "Responda com um número, por favor.",
		answerAgain:   "Desculpe, pode responder outra vez?",
		fallback:      "Desculpe, não percebi. Pode dizer de outra forma?",
		handoff:       "Vou ligá-lo a uma pessoa da nossa equipa. Ela verá a conversa até agora.",
		handoffClosed: "A nossa equipa não está disponível de momento. Deixe aqui a sua mensagem: responderemos nesta conversa assim que voltarmos.",
		handoffPhrases: []string{
			"falar com uma pessoa", "quero falar com um humano", "passe-me a um atendente", "quero um agente",
			"preciso de falar com alguém", "apoio ao cliente", "atendimento ao cliente", "uma pessoa real por favor",
			"atendente por favor", "com um humano", "posso falar com alguém da vossa equipa", "prefiro falar com uma pessoa",
		},
		askedForPerson: regexp.MustCompile(`(?i)\b(humano|uma pessoa|pessoa real|um agente|atendente|assistente humano|operador|falar com alguém)\b`),
	},
	"sv": {
		didThisHelp: "Hjälpte det här?", yes: "Ja", no: "Nej", talkToPerson: "Prata med en person",
		didYouMean: "Menade du något av de här?", somethingElse: "Något annat",
		glad:          "Vad bra att jag kunde hjälpa till. Är det något mer?",
		sorryTellMore: "Det var synd. Kan du säga det med andra ord? Eller prata med en person.",
		pickOption:    "Välj ett av alternativen.",
		badEmail:      "Det ser inte ut som en e-postadress. Kan du kontrollera den?",
		badNumber:     "Svara med ett tal.",
		answerAgain:   "Förlåt, kan du svara på det igen?",
		fallback:      "Förlåt, det förstod jag inte. Kan du säga det på ett annat sätt?",
		handoff:       "Jag kopplar dig till någon i vårt team. De ser vår konversation hittills.",
		handoffClosed: "Vårt team är inte här just nu. Lämna ditt meddelande här så svarar de i den här konversationen när de är tillbaka.",
		handoffPhrases: []string{
			"prata med en människa", "jag vill prata med en riktig person", "koppla mig till en handläggare", "jag vill ha en handläggare",
			"kundtjänst", "kan jag prata med någon", "en riktig människa tack", "jag behöver prata med någon",
			"hellre prata med en person", "prata med någon i ert team", "mänsklig hjälp", "handläggare tack",
		},
		askedForPerson: regexp.MustCompile(`(?i)(\bmänniska|\briktig person|\ben person\b|\bhandläggare|\bkundtjänst|\bprata med någon)`),
	},
	"da": {
		didThisHelp: "Hjalp det?", yes: "Ja", no: "Nej", talkToPerson: "Tal med en person",
		didYouMean: "Mente du en af disse?", somethingElse: "Noget andet",
		glad:          "Godt, at jeg kunne hjælpe. Er der andet?",
		sorryTellMore: "Det er jeg ked af. Kan du sige det med andre ord? Eller tal med en person.",
		pickOption:    "Vælg en af mulighederne.",
		badEmail:      "Det ligner ikke en e-mailadresse. Kan du tjekke den?",
		badNumber:     "Svar med et tal.",
		answerAgain:   "Undskyld, kan du svare på det igen?",
		fallback:      "Undskyld, det forstod jeg ikke. Kan du sige det på en anden måde?",
		handoff:       "Jeg sætter dig i forbindelse med en fra vores team. De kan se vores samtale indtil nu.",
		handoffClosed: "Vores team er her ikke lige nu. Skriv din besked her, så svarer de i denne samtale, når de er tilbage.",
		handoffPhrases: []string{
			"tale med et menneske", "jeg vil tale med en rigtig person", "stil mig videre til en medarbejder", "jeg vil have en medarbejder",
			"kundeservice", "kan jeg tale med nogen", "et rigtigt menneske tak", "jeg har brug for at tale med nogen",
			"hellere tale med en person", "tale med en fra jeres team", "menneskelig hjælp", "medarbejder tak",
		},
		askedForPerson: regexp.MustCompile(`(?i)(\bmenneske|\brigtig person|\ben person\b|\bmedarbejder|\bkundeservice|\btale med nogen)`),
	},
	"nb": {
		didThisHelp: "Hjalp dette?", yes: "Ja", no: "Nei", talkToPerson: "Snakk med en person",
		didYouMean: "Mente du en av disse?", somethingElse: "Noe annet",
		glad:          "Fint at jeg kunne hjelpe. Er det noe mer?",
		sorryTellMore: "Det var leit. Kan du si det med andre ord? Eller snakk med en person.",
		pickOption:    "Velg ett av alternativene.",
		badEmail:      "Det ser ikke ut som en e-postadresse. Kan du sjekke den?",
		badNumber:     "Svar med et tall.",
		answerAgain:   "Beklager, kan du svare på det igjen?",
		fallback:      "Beklager, det forsto jeg ikke. Kan du si det på en annen måte?",
		handoff:       "Jeg setter deg i kontakt med noen i teamet vårt. De ser samtalen vår så langt.",
		handoffClosed: "Teamet vårt er ikke her akkurat nå. Legg igjen meldingen din her, så svarer de i denne samtalen når de er tilbake.",
		handoffPhrases: []string{
			"snakke med et menneske", "jeg vil snakke med en ekte person", "sett meg over til en rådgiver", "jeg vil ha en rådgiver",
			"kundeservice", "kan jeg snakke med noen", "et ekte menneske takk", "jeg trenger å snakke med noen",
			"heller snakke med en person", "snakke med noen i teamet deres", "menneskelig hjelp", "rådgiver takk",
		},
		askedForPerson: regexp.MustCompile(`(?i)(\bmenneske|\bekte person|\ben person\b|\brådgiver|\bkundeservice|\bsnakke med noen)`),
	},
	"fi": {
		didThisHelp: "Oliko tästä apua?", yes: "Kyllä", no: "Ei", talkToPerson: "Puhu ihmisen kanssa",
		didYouMean: "Tarkoititko jotakin näistä?", somethingElse: "Jotain muuta",
		glad:          "Hienoa, että pystyin auttamaan. Voinko auttaa vielä jossakin?",
		sorryTellMore: "Harmillista. Voisitko kertoa saman toisin sanoin? Tai puhu ihmisen kanssa.",
		pickOption:    "Valitse jokin vaihtoehdoista.",
		badEmail:      "Tämä ei näytä sähköpostiosoitteelta. Voisitko tarkistaa sen?",
		badNumber:     "Vastaa numerolla.",
		answerAgain:   "Anteeksi, voisitko vastata siihen uudelleen?",
		fallback:      "Anteeksi, en ymmärtänyt. Voisitko sanoa sen toisella tavalla?",
		handoff:       "Yhdistän sinut tiimimme jäsenelle. Hän näkee keskustelumme tähän asti.",
		handoffClosed: "Tiimimme ei ole paikalla juuri nyt. Jätä viestisi tähän, niin he vastaavat tässä keskustelussa palattuaan.",
		handoffPhrases: []string{
			"haluan puhua ihmisen kanssa", "haluan puhua oikean ihmisen kanssa", "yhdistä minut asiakaspalvelijalle", "haluan asiakaspalvelijan",
			"asiakaspalvelu", "voinko puhua jonkun kanssa", "oikea ihminen kiitos", "minun täytyy puhua jonkun kanssa",
			"puhuisin mieluummin ihmisen kanssa", "puhua jonkun tiimistänne kanssa", "ihmisen apua", "asiakaspalvelija kiitos",
		},
		askedForPerson: regexp.MustCompile(`(?i)(\bihmi(nen|sen|stä|selle)\b|\basiakaspalvelija|\bjonkun kanssa)`),
	},
}
