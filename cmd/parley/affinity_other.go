//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

var errNoAffinity = errors.New("--server-cpus and --bench-cpus work on Linux only")

func startOnCPUs(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) > 0 {
		return errNoAffinity
	}
	return cmd.Start()
}

func confineSelf(cpus []int) error {
	if len(cpus) > 0 {
		return errNoAffinity
	}
	return nil
}
