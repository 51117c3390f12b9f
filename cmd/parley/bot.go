package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
	"github.com/parleychat/parley/internal/bot/nlu"
)

const botUsage = `usage:
  parley bot import FILE [--account ID] [--data DIR]
  parley bot export [--account ID] [--format yaml|json] [--data DIR]
  parley bot eval --train FILE --test FILE [--oos-label L] [--holdout-every K [--holdout-fold F]] [--threshold P] [--per-label N] [--language en|es|fr|de]`

// cmdBot runs `parley bot import|export|eval`.
func cmdBot(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(botUsage)
	}
	switch args[0] {
	case "eval":
		return cmdBotEval(args[1:], getenv, stdout, stderr)
	case "import", "export":
		return cmdBotFile(ctx, args[0], args[1:], getenv, stdout, stderr)
	}
	return errors.New(botUsage)
}

// cmdBotFile imports or exports an account's bot through the store; a
// running server picks the change up within seconds.
func cmdBotFile(ctx context.Context, what string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var file string
	if what == "import" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return errors.New("usage: parley bot import FILE [--account ID] [--data DIR]")
		}
		file, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("parley bot "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addStoreFlags(fs)
	account := fs.String("account", "", "account ID (may be left out when there is one account)")
	format := fs.String("format", "yaml", "export format: yaml or json")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	store, err := openAccount(ctx, sf, account)
	if err != nil {
		return err
	}
	defer store.Close()
	if what == "export" {
		out, err := bot.Export(ctx, store, *account, *format)
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if int64(len(content)) > int64(bot.DefaultLimits.MaxBytes) {
		return fmt.Errorf("%s: the file is %d bytes; the limit is %d", file, len(content), bot.DefaultLimits.MaxBytes)
	}
	var rec *parley.BotRecord
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		var n int
		rec, n, err = bot.ImportFAQ(ctx, store, *account, file, content, bot.DefaultLimits)
		if err == nil {
			fmt.Fprintf(stdout, "added %d articles from %s\n", n, file)
		}
	case ".yaml", ".yml", ".json":
		rec, _, err = bot.Save(ctx, store, *account, file, content, 0, bot.DefaultLimits)
	default:
		return fmt.Errorf("%s: the file must be .yaml, .yml, .json or .csv", file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bot of account %s is at version %d\n", *account, rec.Version)
	return nil
}

// cmdBotEval trains on one CSV and measures on another.
func cmdBotEval(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley bot eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trainPath := fs.String("train", "", "training CSV (text,label)")
	testPath := fs.String("test", "", "test CSV (text,label)")
	oos := fs.String("oos-label", "", "label of out-of-scope rows in the test set")
	holdout := fs.Int("holdout-every", 0, "make an out-of-scope set: every K-th intent is left out of training and its test rows become --oos-label (default label \"oos\")")
	fold := fs.Int("holdout-fold", 0, "with --holdout-every K, which K-th intents are left out: fold F leaves out the F-th, the (F+K)-th and so on, from 1 to K (default K); the K folds together leave out each intent once")
	threshold := fs.Float64("threshold", nlu.DefaultConfirmAt, "below this answer check (top probability without a sentence encoder) the answer is \"no intent\" (the bot's confirm_at)")
	answerAt := fs.Float64("answer-at", nlu.DefaultAnswerAt, "from this answer check (top probability without a sentence encoder) the bot answers outright (the bot's answer_at)")
	perLabel := fs.Int("per-label", 0, "train on the first N rows of each label only (0: all)")
	names := fs.Bool("label-names", true, "train on each label's name too (\"card_arrival\" → \"card arrival\"), as the bot does with intent names")
	langCode := fs.String("language", "en", "language of the phrases: "+strings.Join(nlu.Languages(), ", "))
	wordsOnly := fs.Bool("words-only", false, "leave out the sentence encoder: words and characters alone, to see what the encoder adds")
	seed := fs.Uint64("seed", 1, "the order training visits the phrases in; other seeds show how much a figure owes to chance")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *trainPath == "" || *testPath == "" {
		return errors.New("--train and --test are required")
	}
	lang, ok := nlu.LanguageFor(*langCode)
	if !ok {
		return fmt.Errorf("--language %q: the bot speaks %s", *langCode, strings.Join(nlu.Languages(), ", "))
	}
	if *fold != 0 && (*holdout <= 0 || *fold < 1 || *fold > *holdout) {
		return fmt.Errorf("--holdout-fold %d: a fold is from 1 to --holdout-every (%d)", *fold, *holdout)
	}
	train, err := nlu.ReadCSV(*trainPath)
	if err != nil {
		return err
	}
	test, err := nlu.ReadCSV(*testPath)
	if err != nil {
		return err
	}
	if *perLabel > 0 {
		train = nlu.FirstPerLabel(train, *perLabel)
	}
	if *holdout > 0 {
		if *oos == "" {
			*oos = "oos"
		}
		if *fold == 0 {
			*fold = *holdout
		}
		train, test = nlu.HoldOutLabels(train, test, *holdout, *fold, *oos)
	}
	if *oos != "" { // out-of-scope rows never train the model
		kept := train[:0]
		for _, e := range train {
			if e.Label != *oos {
				kept = append(kept, e)
			}
		}
		train = kept
	}
	if *names {
		train = nlu.WithLabelNames(train)
	}
	start := time.Now()
	m := nlu.Train(train, nlu.Options{Seed: *seed, Language: lang, WordsOnly: *wordsOnly})
	trainTime := time.Since(start)
	rep := nlu.EvaluateOOS(m, test, *oos, *threshold)
	fmt.Fprintf(stdout, "trained on %d phrases, %d intents, in %.2f s\n", len(train), len(m.Labels()), trainTime.Seconds())
	fmt.Fprintf(stdout, "test rows       %d\n", rep.N)
	fmt.Fprintf(stdout, "accuracy        %.4f\n", rep.Accuracy)
	fmt.Fprintf(stdout, "macro-F1        %.4f\n", rep.MacroF1)
	fmt.Fprintf(stdout, "calibration     %.4f expected calibration error\n", rep.CalibrationError)
	if *oos != "" {
		fmt.Fprintf(stdout, "OOS precision   %.4f (threshold %.2f)\n", rep.OOSPrecision, *threshold)
		fmt.Fprintf(stdout, "OOS recall      %.4f\n", rep.OOSRecall)
	}
	b := nlu.Bands(m, test, *oos, *threshold, *answerAt)
	fmt.Fprintf(stdout, "bands (answer ≥ %.2f, confirm ≥ %.2f):\n", *answerAt, *threshold)
	fmt.Fprintf(stdout, "  in scope      answered right %.3f, answered wrong %.3f, confirm %.3f (right one offered %.3f), no intent %.3f\n",
		b.InRight, b.InWrong, b.InConfirm, b.InConfirmHasIt, b.InNone)
	if *oos != "" {
		fmt.Fprintf(stdout, "  out of scope  answered (wrong) %.3f, confirm %.3f, no intent %.3f\n", b.OOSAnswered, b.OOSConfirm, b.OOSNone)
	}
	fmt.Fprintf(stdout, "latency p50     %d µs\n", rep.LatencyP50.Microseconds())
	fmt.Fprintf(stdout, "latency p99     %d µs\n", rep.LatencyP99.Microseconds())
	return nil
}
