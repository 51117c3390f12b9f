package bot

import (
	"bytes"
	"html"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/parleychat/parley/internal/bot/nlu"
	"github.com/yuin/goldmark"
)

// index is BM25 retrieval over the knowledge base: title, questions and
// body, as stems, the title and questions counting twice.
type index struct {
	lang     *nlu.Language
	docs     []*Article
	postings map[string][]posting
	lengths  []float64
	avgLen   float64
}

type posting struct {
	doc int
	tf  float64
}

// BM25 parameters (the usual ones).
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

func newIndex(lang *nlu.Language, articles []Article) *index {
	ix := &index{lang: lang, postings: map[string][]posting{}}
	var total float64
	for i := range articles {
		a := &articles[i]
		tf := map[string]float64{}
		add := func(text string, weight float64) {
			for _, t := range lang.Terms(text) {
				tf[t] += weight
			}
		}
		add(a.Title, 2)
		for _, q := range a.Questions {
			add(q, 2)
		}
		add(a.Body, 1)
		var n float64
		for t, f := range tf {
			ix.postings[t] = append(ix.postings[t], posting{doc: i, tf: f})
			n += f
		}
		ix.docs = append(ix.docs, a)
		ix.lengths = append(ix.lengths, n)
		total += n
	}
	if len(articles) > 0 {
		ix.avgLen = total / float64(len(articles))
	}
	return ix
}

// hit is an article with its score and the share of the query's terms it
// contains.
type hit struct {
	article  *Article
	score    float64
	coverage float64
}

// search ranks the articles for a query, best first.
func (ix *index) search(query string) []hit {
	terms := ix.lang.Terms(query)
	if len(terms) == 0 || len(ix.docs) == 0 {
		return nil
	}
	scores := map[int]float64{}
	matched := map[int]int{}
	seen := map[string]bool{}
	unique := 0
	for _, t := range terms {
		if seen[t] {
			continue
		}
		seen[t] = true
		unique++
		ps := ix.postings[t]
		if len(ps) == 0 {
			continue
		}
		n := float64(len(ix.docs))
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			norm := bm25K1 * (1 - bm25B + bm25B*ix.lengths[p.doc]/ix.avgLen)
			scores[p.doc] += idf * p.tf * (bm25K1 + 1) / (p.tf + norm)
			matched[p.doc]++
		}
	}
	out := make([]hit, 0, len(scores))
	for d, s := range scores {
		out = append(out, hit{article: ix.docs[d], score: s, coverage: float64(matched[d]) / float64(unique)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].article.ID < out[j].article.ID
	})
	return out
}

// markdown renders Markdown (CommonMark, raw HTML left out by goldmark)
// and sanitises the result (bluemonday's policy for user content: links
// get rel="nofollow", no scripts, styles or event handlers).
var (
	md       = goldmark.New()
	sanitise = bluemonday.UGCPolicy().RequireNoReferrerOnLinks(true).AddTargetBlankToFullyQualifiedLinks(true)
)

// RenderMarkdown turns an answer into safe HTML.
func RenderMarkdown(src string) string {
	var b bytes.Buffer
	if err := md.Convert([]byte(src), &b); err != nil {
		return sanitise.Sanitize(src)
	}
	return string(bytes.TrimSpace(sanitise.SanitizeBytes(b.Bytes())))
}

// HelpArticle is an article as the widget's help center shows it.
type HelpArticle struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Snippet string `json:"snippet,omitempty"` // the body's start, as plain text (lists)
	HTML    string `json:"html,omitempty"`    // the body, rendered and sanitised (one article)
}

// SearchArticles returns up to limit articles for a visitor's search, the
// best first — every article that has one of the query's terms — or, for
// an empty query, the first articles of the knowledge base, in the order
// the brand wrote them.
func (b *Brain) SearchArticles(query string, limit int) []HelpArticle {
	var found []*Article
	if strings.TrimSpace(query) == "" {
		for i := range b.cfg.Articles {
			found = append(found, &b.cfg.Articles[i])
		}
	} else {
		for _, h := range b.index.search(query) {
			found = append(found, h.article)
		}
	}
	if len(found) > limit {
		found = found[:limit]
	}
	out := make([]HelpArticle, 0, len(found))
	for _, a := range found {
		out = append(out, HelpArticle{ID: a.ID, Title: a.Title, Snippet: snippet(a.Body, 160)})
	}
	return out
}

// HelpArticle returns one article with its body as HTML.
func (b *Brain) HelpArticle(id string) (HelpArticle, bool) {
	a, ok := b.articles[id]
	if !ok {
		return HelpArticle{}, false
	}
	return HelpArticle{ID: a.ID, Title: a.Title, HTML: RenderMarkdown(a.Body)}, true
}

var plain = bluemonday.StrictPolicy()

// snippet is the start of a Markdown body as text, cut at a word.
func snippet(markdown string, max int) string {
	text := strings.Join(strings.Fields(html.UnescapeString(plain.Sanitize(RenderMarkdown(markdown)))), " ")
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	r := []rune(text)[:max]
	if i := strings.LastIndexByte(string(r), ' '); i > max/2 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}
