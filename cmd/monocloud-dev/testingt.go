package main

import "fmt"

// providerT is the monocloudtest.TestingT of the provider outside a test:
// it keeps the provider's cleanups for the end of run, and turns a failure
// into a panic that run recovers as its error.
type providerT struct{ cleanups []func() }

// failure is the panic value of providerT.Fatalf.
type failure struct{ err error }

func (t *providerT) Helper()          {}
func (t *providerT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *providerT) Fatalf(format string, args ...any) {
	panic(failure{fmt.Errorf(format, args...)})
}

// cleanup runs the cleanups, the last registered first.
func (t *providerT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
