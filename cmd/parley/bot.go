package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/parleychat/parley/internal/bot/nlu"
)

// cmdBot runs `parley bot eval`: train on one CSV, measure on another.
func cmdBot(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "eval" {
		return errors.New("usage: parley bot eval --train FILE --test FILE [--oos-label LABEL] [--threshold P] [--per-label N]")
	}
	fs := flag.NewFlagSet("parley bot eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trainPath := fs.String("train", "", "training CSV (text,label)")
	testPath := fs.String("test", "", "test CSV (text,label)")
	oos := fs.String("oos-label", "", "label of out-of-scope rows in the test set")
	threshold := fs.Float64("threshold", 0.3, "below this top probability the answer is \"no intent\"")
	perLabel := fs.Int("per-label", 0, "train on the first N rows of each label only (0: all)")
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	if *trainPath == "" || *testPath == "" {
		return errors.New("--train and --test are required")
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
	if *oos != "" { // out-of-scope rows never train the model
		kept := train[:0]
		for _, e := range train {
			if e.Label != *oos {
				kept = append(kept, e)
			}
		}
		train = kept
	}
	start := time.Now()
	m := nlu.Train(train, nlu.Options{Seed: 1})
	trainTime := time.Since(start)
	rep := nlu.EvaluateOOS(m, test, *oos, *threshold)
	fmt.Fprintf(stdout, "trained on %d phrases, %d intents, in %.2f s\n", len(train), len(m.Labels()), trainTime.Seconds())
	fmt.Fprintf(stdout, "test rows       %d\n", rep.N)
	fmt.Fprintf(stdout, "accuracy        %.4f\n", rep.Accuracy)
	fmt.Fprintf(stdout, "macro-F1        %.4f\n", rep.MacroF1)
	if *oos != "" {
		fmt.Fprintf(stdout, "OOS precision   %.4f (threshold %.2f)\n", rep.OOSPrecision, *threshold)
		fmt.Fprintf(stdout, "OOS recall      %.4f\n", rep.OOSRecall)
	}
	fmt.Fprintf(stdout, "latency p50     %d µs\n", rep.LatencyP50.Microseconds())
	fmt.Fprintf(stdout, "latency p99     %d µs\n", rep.LatencyP99.Microseconds())
	return nil
}
