package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ingo-grader/ingo/internal/natsauth"
)

// revocationPoll is how often an embedded server's process looks at its
// keys file for revocations another process (ingo creds --revoke) wrote.
const revocationPoll = 2 * time.Second

// followRevocations gives srv, the embedded server of dataDir's keys,
// every revocation written to the keys file while it runs, within
// revocationPoll: a compromised agent's or frontend's credentials are
// refused, and their connections closed, without restarting the backend
// (which a revocation needed before, all the while the revoked agent
// graded). A revocation of every credential still waits for the next
// start (natsauth.Keys.ApplyTo says why). stop ends the watch and returns
// once it has.
func (a *app) followRevocations(ctx context.Context, srv *server.Server, dataDir string) (stop func()) {
	started := a.keys // what srv was configured with (startEmbeddedNATS)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(dataDir, natsauth.KeysFile)
		// The first look applies the file as it is: a revocation written
		// between the server's start and this watch's is not missed.
		var seen os.FileInfo
		saidDeferred := false
		t := time.NewTicker(revocationPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st, err := os.Stat(path)
			if err != nil || (seen != nil && os.SameFile(st, seen) && st.ModTime().Equal(seen.ModTime()) && st.Size() == seen.Size()) {
				continue
			}
			seen = st
			keys, err := natsauth.Load(dataDir)
			deferred := false
			if err == nil {
				deferred, err = keys.ApplyTo(srv, started)
			}
			if err != nil {
				a.log.Warn("the keys file changed, and the embedded NATS server could not take it: restart it for revocations to take effect", "file", path, "err", err)
				continue
			}
			if n := keys.RevokedCount(); n > 0 {
				a.log.Info("the embedded NATS server took the keys file's revocations", "revoked", n)
			}
			if deferred && !saidDeferred {
				saidDeferred = true
				a.log.Warn("a revocation of every credential (ingo creds --revoke-all) takes effect at the next start of this process: its own parts hold credentials issued before it", "file", path)
			}
		}
	}()
	return func() { cancel(); <-done }
}
