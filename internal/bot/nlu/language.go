package nlu

import (
	"slices"
	"strings"
	"unicode"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/danish"
	"github.com/blevesearch/snowballstem/dutch"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/finnish"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/norwegian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/spanish"
	"github.com/blevesearch/snowballstem/swedish"
	"github.com/parleychat/parley/internal/bot/nlu/encoder"
	"golang.org/x/text/unicode/norm"
)

// Language is what the NLU needs to know about the language a bot speaks:
// how to stem a word (Snowball), which words are too common to search
// for, and, for English, the sentence encoder that places a question by
// its meaning. The widget speaks the same languages.
type Language struct {
	Code    string // ISO 639-1: "en", "es", "fr", "de", "it", "nl", "pt", "sv", "da", "nb" (Norwegian Bokmål), "fi"
	stem    func(*snowball.Env) bool
	stop    map[string]bool
	stopped map[string]bool         // the stopwords' stems
	encoder func() *encoder.Encoder // nil: words and characters only
}

// English is the default language.
var English = languages["en"]

var languages = map[string]*Language{
	"en": newLanguage("en", encoder.English, english.Stem, `a an the and or but if of to in on at by for with from as is are was were be
		been being am do does did have has had i me my we our you your he she it its they them their this that these those
		what which who whom how why when where can could would should will shall may might must not no so than too very
		just about into over also there here please hi hello thanks thank`),
	"es": newLanguage("es", nil, spanish.Stem, `el la los las un una unos unas y o pero si de del a al en por para con sin
		sobre es son era fue ser estar está están estoy he ha han hay yo me mi mis tú te tu tus usted él ella nosotros
		nos nuestro vosotros ellos ellas su sus se lo le les que qué cual cuál quien quién como cómo cuando cuándo donde
		dónde este esta estos estas ese esa eso no sí muy más ya también hola gracias favor puedo puede quiero`),
	"fr": newLanguage("fr", nil, french.Stem, `le la les l un une des du de d et ou mais si à au aux en dans par pour avec
		sans sur est sont était être ai a as avons avez ont je j me m mon ma mes tu te t ton ta tes vous votre vos il
		elle on nous notre nos ils elles leur leurs se s ce c cette ces ça que qu qui quoi comment quand où ne n pas
		plus très aussi bonjour salut merci svp peux peut veux voudrais`),
	"de": newLanguage("de", nil, german.Stem, `der die das den dem des ein eine einen einem einer und oder aber wenn von
		zu zum zur in im an am auf aus bei mit nach für über ist sind war waren sein bin bist hat habe haben hast ich
		mich mir mein meine du dich dir dein deine sie ihr ihre er es wir uns unser euch man was wer wie warum wann wo
		welche welcher dies diese dieser nicht kein keine sehr auch noch schon hallo danke bitte kann könnte möchte will`),
	"it": newLanguage("it", nil, italian.Stem, `il lo la i gli le l un uno una un' e o ma se di del dello della dei degli
		delle a al allo alla ai agli alle da dal in nel nella nei su sul sulla per con senza è sono era essere ho ha
		hai abbiamo hanno c ci io mi me mio mia miei mie tu ti te tuo tua lei lui noi nostro nostra voi vostro loro
		si sé che chi cosa come quando dove quale quali questo questa questi queste quello quella non né molto più
		anche già ciao salve grazie favore posso può puoi voglio vorrei`),
	"nl": newLanguage("nl", nil, dutch.Stem, `de het een en of maar als van te in op aan bij met voor door over naar uit
		om tot is zijn was waren ben bent heb hebt heeft hebben ik mij me mijn je jij jou jouw u uw hij zij ze haar
		hem wij we ons onze jullie hun zich dat die dit deze wat wie hoe waarom wanneer waar welke niet geen heel
		zeer ook nog al er hier daar hallo hoi dank bedankt alsjeblieft alstublieft graag kan kun kunt wil wilt zou`),
	"pt": newLanguage("pt", nil, portuguese.Stem, `o a os as um uma uns umas e ou mas se de do da dos das ao aos à às em no
		na nos nas por pelo pela para com sem sobre é são era foi ser estar está estão estou tenho tem temos têm há eu
		me mim meu minha meus minhas tu te teu tua você vocês ele ela nós nosso nossa eles elas seu sua seus suas
		lhe lhes que quê qual quais quem como quando onde este esta estes estas esse essa isso isto não sim muito
		mais já também olá obrigado obrigada favor posso pode quero queria`),
	"sv": newLanguage("sv", nil, swedish.Stem, `en ett den det de och eller men om av till i på vid med från för över under
		är var vara varit blir har hade jag mig min mitt mina du dig din ditt dina han hon hen vi oss vår vårt våra
		ni er ert era dem deras sin sitt sina som vad vilken vilket vilka vem hur varför när var där här inte ingen
		inget mycket också så än bara hej tack snälla kan kunde vill skulle ska måste`),
	"da": newLanguage("da", nil, danish.Stem, `en et den det de og eller men hvis af til i på ved med fra for over under
		er var være været bliver har havde jeg mig min mit mine du dig din dit dine han hun vi os vores I jer jeres
		dem deres sin sit sine som hvad hvilken hvilket hvilke hvem hvordan hvorfor hvornår hvor der her ikke ingen
		intet meget også så end bare hej tak venligst kan kunne vil ville skal må`),
	"nb": newLanguage("nb", nil, norwegian.Stem, `en ei et den det de og eller men hvis av til i på ved med fra for over under
		er var være vært blir har hadde jeg meg min mitt mine du deg din ditt dine han hun vi oss vår vårt våre dere
		deres dem sin sitt sine som hva hvilken hvilket hvilke hvem hvordan hvorfor når hvor der her ikke ingen
		intet mye også så enn bare hei takk vennligst kan kunne vil ville skal må`),
	"fi": newLanguage("fi", nil, finnish.Stem, `ja tai mutta jos että kun niin kuin myös vain jo vielä ei en et emme ette eivät
		olla on ovat oli olivat olen olet olemme olette ole ollut olisi minä minun minua minulle minulla minulta sinä
		sinun sinua sinulle sinulla hän hänen häntä me meidän meille meillä te teidän teille he heidän se sen sitä
		siitä siinä sille ne niiden tämä tämän tätä tässä nämä tuo mikä mitä miksi miten missä mistä mihin milloin
		kuka ketä kenen joka jota jonka koska kanssa ilman yli hei moi kiitos kiitti voi voin voisin voiko voitteko
		haluan haluaisin pitää täytyy onko oliko`),
}

func newLanguage(code string, enc func() *encoder.Encoder, stem func(*snowball.Env) bool, stopwords string) *Language {
	l := &Language{Code: code, stem: stem, stop: map[string]bool{}, stopped: map[string]bool{}, encoder: enc}
	for _, w := range strings.Fields(stopwords) {
		l.stop[fold(w)] = true
		l.stopped[l.Stem(w)] = true
	}
	return l
}

// LanguageFor returns the language with that code, or false.
func LanguageFor(code string) (*Language, bool) {
	l, ok := languages[code]
	return l, ok
}

// Languages lists the codes of the languages the NLU speaks.
func Languages() []string {
	codes := make([]string, 0, len(languages))
	for c := range languages {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// Stem returns a word's stem without accents: stemmers know their
// language's accented suffixes ("-ité", "-ación"), so accents go after.
func (l *Language) Stem(word string) string {
	env := snowball.NewEnv(word)
	l.stem(env)
	return fold(env.Current())
}

// stems returns a word's stem and, when the word has accents, the stem of
// the word typed without them if that differs ("devolución" → "devolu",
// "devolucion"): visitors often leave accents out, and Snowball's rules
// read them.
func (l *Language) stems(word string) (stem, unaccented string) {
	stem = l.Stem(word)
	if f := fold(word); f != word {
		if alt := l.Stem(f); alt != stem {
			return stem, alt
		}
	}
	return stem, ""
}

// words splits text into lowercased words of letters and digits, accents
// kept (compatibility forms such as "ﬁ" or full-width letters unfolded).
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(norm.NFKC.String(text)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// fold drops the accents of a lowercased word: "café" → "cafe".
func fold(word string) string {
	if isASCII(word) {
		return word
	}
	var b strings.Builder
	b.Grow(len(word))
	for _, r := range norm.NFKD.String(word) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
