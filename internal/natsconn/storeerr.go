package natsconn

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// errCodeStoreFailed is JetStream's "error creating store for stream"
// (JSStreamStoreFailedF): the server could not make the stream's files.
const errCodeStoreFailed jetstream.ErrorCode = 10049

// errCodeInsufficient is JetStream's "insufficient resources": the
// server's store bound (max_file_store) cannot hold the bound of one more
// stream, which JetStream reserves as it creates it.
const errCodeInsufficient jetstream.ErrorCode = 10023

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
	case errors.As(err, &api) && api.ErrorCode == errCodeInsufficient:
		return fmt.Errorf("%w (JetStream reserves each stream's bound on the NATS server's disk as it creates it, and the server's max_file_store cannot hold this one besides the others: free disk, raise max_file_store, or lower backend.journal-max-bytes, backend.history-max-bytes or backend.bundle-max-bytes)", err)
	}
	return err
}
