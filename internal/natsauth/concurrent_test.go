package natsauth

import (
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// Servers configured at once from the same fresh keys (tests share one
// set) all name the one operator JWT, signed once: before, each signed
// and stored its own, a data race that `go test -race ./cmd/ingo` hit.
func TestConfigureConcurrently(t *testing.T) {
	k, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			var o server.Options
			errs <- k.Configure(&o)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if k.KeptOperatorJWT() == "" {
		t.Fatal("no operator JWT kept")
	}
}
