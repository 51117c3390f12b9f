package bot

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/outbound"
	"go.yaml.in/yaml/v3"
)

// Load returns the account's stored configuration, or an empty, disabled
// one at version 0 when it has none.
func Load(ctx context.Context, store parley.Store, accountID string) (*Config, int64, error) {
	rec, err := store.FindBot(ctx, accountID)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return &Config{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var c Config
	if err := json.Unmarshal(rec.Config, &c); err != nil {
		return nil, 0, fmt.Errorf("stored bot configuration: %w", err)
	}
	return &c, rec.Version, nil
}

// Save parses, validates and stores a configuration (JSON or YAML) for the
// account. Nothing changes when it is refused: the running bot keeps its
// last good configuration. A configuration without a signing secret keeps
// the stored one, or gets a new one.
func Save(ctx context.Context, store parley.Store, accountID, file string, data []byte, expectVersion int64, l Limits) (*parley.BotRecord, *Config, error) {
	skills, err := SkillMap(ctx, store, accountID)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := Parse(file, data, skills, l)
	if err != nil {
		return nil, nil, err
	}
	return saveConfig(ctx, store, accountID, cfg, expectVersion)
}

func saveConfig(ctx context.Context, store parley.Store, accountID string, cfg *Config, expectVersion int64) (*parley.BotRecord, *Config, error) {
	if cfg.Secret == "" {
		old, _, err := Load(ctx, store, accountID)
		if err != nil {
			return nil, nil, err
		}
		cfg.Secret = old.Secret
		if cfg.Secret == "" {
			cfg.Secret = outbound.NewSecret()
		}
	}
	rec, err := store.PutBot(ctx, accountID, cfg.JSON(), expectVersion)
	return rec, cfg, err
}

// Export writes the account's configuration as "yaml" or "json".
func Export(ctx context.Context, store parley.Store, accountID, format string) ([]byte, error) {
	cfg, _, err := Load(ctx, store, accountID)
	if err != nil {
		return nil, err
	}
	switch format {
	case "json", "":
		return append(cfg.JSON(), '\n'), nil
	case "yaml":
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(cfg); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	return nil, parley.Errorf(parley.EINVALID, "format must be yaml or json")
}

// ImportFAQ adds the rows of a CSV file of frequently asked questions
// (header "question,answer", an optional third column "title") to the
// account's knowledge base: rows with the same answer become one article
// whose questions they are. An article with the same id is replaced.
func ImportFAQ(ctx context.Context, store parley.Store, accountID, file string, data []byte, l Limits) (*parley.BotRecord, int, error) {
	if len(data) > l.MaxBytes {
		return nil, 0, &FieldError{File: file, Code: parley.ETOOLARGE, Msg: fmt.Sprintf("the file is %d bytes; the limit is %d", len(data), l.MaxBytes)}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, 0, &FieldError{File: file, Line: 1, Msg: "the file is empty or not CSV"}
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	qi, ok1 := cols["question"]
	ai, ok2 := cols["answer"]
	if !ok1 || !ok2 {
		return nil, 0, &FieldError{File: file, Line: 1, Msg: `the header must name the columns "question" and "answer" (and optionally "title")`}
	}
	ti, hasTitle := cols["title"]
	byAnswer := map[string]*Article{}
	used := map[string]bool{}
	var order []*Article
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, 0, &FieldError{File: file, Line: pe.Line, Msg: pe.Err.Error()}
			}
			return nil, 0, &FieldError{File: file, Msg: err.Error()}
		}
		get := func(i int) string {
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		q, a := get(qi), get(ai)
		if q == "" {
			return nil, 0, &FieldError{File: file, Line: line, Field: "question", Msg: "is empty"}
		}
		if a == "" {
			return nil, 0, &FieldError{File: file, Line: line, Field: "answer", Msg: "is empty"}
		}
		art := byAnswer[a]
		if art == nil {
			title := q
			if hasTitle && get(ti) != "" {
				title = get(ti)
			}
			id := slug(title)
			if id == "" {
				id = "faq"
			}
			for n, base := 2, id; used[id]; n++ {
				id = fmt.Sprintf("%s-%d", base, n)
			}
			used[id] = true
			art = &Article{ID: id, Title: title, Body: a}
			byAnswer[a] = art
			order = append(order, art)
		}
		art.Questions = append(art.Questions, q)
	}
	if len(order) == 0 {
		return nil, 0, &FieldError{File: file, Line: 2, Msg: "no questions to import"}
	}
	cfg, version, err := Load(ctx, store, accountID)
	if err != nil {
		return nil, 0, err
	}
	index := map[string]int{}
	for i, a := range cfg.Articles {
		index[a.ID] = i
	}
	for _, a := range order {
		if i, ok := index[a.ID]; ok {
			cfg.Articles[i] = *a
		} else {
			index[a.ID] = len(cfg.Articles)
			cfg.Articles = append(cfg.Articles, *a)
		}
	}
	skills, err := SkillMap(ctx, store, accountID)
	if err != nil {
		return nil, 0, err
	}
	if err := cfg.Validate(skills, l); err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.File = file
		}
		return nil, 0, err
	}
	rec, _, err := saveConfig(ctx, store, accountID, cfg, version)
	return rec, len(order), err
}

// slug makes an article id from a title: "How do I return?" → "how-do-i-return".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}
