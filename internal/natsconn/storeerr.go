package natsconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errCodeStoreFailed is JetStream's "error creating store for stream"
// (JSStreamStoreFailedF): the server could not make the stream's files.
const errCodeStoreFailed jetstream.ErrorCode = 10049

// errCodeInsufficient is JetStream's "insufficient resources": the
// server's store bound (max_file_store) cannot hold the bound of one more
// stream, which JetStream reserves as it creates it.
const errCodeInsufficient jetstream.ErrorCode = 10023

// errCodeStorageExceeded is JetStream's "insufficient storage resources
// available" (JSStorageResourcesExceededErr), the same refusal as
// errCodeInsufficient as an embedded server on a small disk answers it.
const errCodeStorageExceeded jetstream.ErrorCode = 10047

// StoreBound says whether err is JetStream refusing a stream whose bound
// its store cannot reserve: asking again does not help until an operator
// frees disk or lowers a bound.
func StoreBound(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == errCodeInsufficient || api.ErrorCode == errCodeStorageExceeded)
}

// ExplainStore adds to an error of creating a stream (a journal, the
// history, a bucket) what an operator should look at when the server says
// only that it could not create the stream's store: the server logs the
// cause, and hides it from the API. A full disk is the usual one (an
// embedded server's JetStream bounds were set from the disk's free space
// at its start, so a disk that filled later passes them). Other errors
// are returned as they are.
func ExplainStore(err error) error {
	var api *jetstream.APIError
	switch {
	case errors.As(err, &api) && api.ErrorCode == errCodeStoreFailed:
		return fmt.Errorf("%w (the NATS server could not write the stream's files: its log says why; most often its disk is full or its store directory is not writable)", err)
	case StoreBound(err):
		return fmt.Errorf("%w (JetStream reserves each stream's bound on the NATS server's disk as it creates it, and the server's max_file_store cannot hold this one besides the others: free disk, raise max_file_store, or lower backend.journal-max-bytes, backend.history-max-bytes or backend.bundle-max-bytes)", err)
	}
	return err
}

// RetryStoreFailed calls create (a stream's creation) again for a moment
// while the server answers that it could not make the stream's files: a
// stream deleted just before leaves folders that the server removes after
// its answer, and a create meanwhile found its parent folder gone (1 in
// 30 runs of TestStoreMadeAnew). A full disk or a folder not writable
// fails the same way, a second later.
func RetryStoreFailed(ctx context.Context, create func() error) error {
	const tries = 5
	for i := 1; ; i++ {
		err := create()
		var api *jetstream.APIError
		if err == nil || i == tries || !errors.As(err, &api) || api.ErrorCode != errCodeStoreFailed {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i) * 50 * time.Millisecond):
		}
	}
}
