//go:build race

package nlu

func init() { shareCores = false }
