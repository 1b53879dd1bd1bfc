package cli

import (
	"errors"
	"fmt"
)

// Exit codes (DESIGN.md).
const (
	ExitOK     = 0
	ExitError  = 1
	ExitUsage  = 2
	ExitPolicy = 3
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode returns the process exit code for the error.
func (e *exitError) ExitCode() int { return e.code }

// usageError marks err as bad usage (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// policyError marks a gate or policy refusal (exit 3).
func policyError(format string, args ...any) error {
	return &exitError{code: ExitPolicy, err: fmt.Errorf(format, args...)}
}

// errSilent is an exit with a code whose message was already printed.
func silentExit(code int) error {
	return &exitError{code: code, err: errAlreadyReported}
}

var errAlreadyReported = errors.New("already reported")

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}
