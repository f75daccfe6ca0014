package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ingo-grader/ingo/internal/fairuse"
	"github.com/ingo-grader/ingo/internal/logging"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/messages"
)

// maxReaders bounds the requests served at once; more are answered
// CodeUnavailable at once rather than queued behind slow pages.
const maxReaders = 16

// maxReadersPerClient bounds those of one frontend: a page filtered on
// what the asker has little of walks the whole index (a name is any
// client's: another frontend's course), and one frontend that kept
// 128 such requests in flight held every reader, so that another
// frontend's requests were answered "busy" half of the time.
const maxReadersPerClient = maxReaders / 4

// maxReadersPerAdmin bounds those of one admin more loosely, leaving the
// frontends a client's share: the HTTP API asks as one admin for all its
// tokens, and one token's flood of GET /api/v1/jobs held every reader.
const maxReadersPerAdmin = maxReaders - maxReadersPerClient

// queueGroup: one backend process answers each request.
const queueGroup = "ingo-history"

// Server answers ClientGetHistory requests from the store.
type Server struct {
	st   *Store
	subs []*nats.Subscription
	sem  chan struct{}
	busy fairuse.InFlight // requests being served, by role and id
	wg   sync.WaitGroup   // one per request being served
	log  *slog.Logger
	// peerLog is log at most 100 lines a minute, for what a requester
	// causes at will.
	peerLog *slog.Logger
}

// Serve subscribes to the history request subjects on nc; Close stops.
func (st *Store) Serve(nc *nats.Conn) (*Server, error) {
	s := &Server{st: st, sem: make(chan struct{}, maxReaders), log: st.opts.Log,
		peerLog: logging.Limited(st.opts.Log, time.Minute, 100)}
	for _, subject := range []string{st.subj.HistoryClient("*"), st.subj.HistoryAdmin("*")} {
		sub, err := nc.QueueSubscribe(subject, queueGroup, s.receive)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("history: subscribe %s: %w", subject, err)
		}
		s.subs = append(s.subs, sub)
	}
	// The subscriptions reach the server with the connection's next
	// flush: until then a request finds no responder. A round trip makes
	// Serve return once the server has them. On a connection that is
	// down, the subscriptions go with the reconnect; no need to wait.
	_ = nc.FlushTimeout(5 * time.Second)
	return s, nil
}

// Close unsubscribes and waits for the requests being served.
func (s *Server) Close() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.wg.Wait()
}

func (s *Server) receive(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	id, admin, ok := s.st.subj.HistorySender(m.Subject)
	if !ok || natsconn.Foreign(m) {
		return // not a request of the identity its subject names
	}
	role := natsauth.RoleFrontend
	if admin {
		role = natsauth.RoleAdmin
	}
	if !natsauth.OwnInbox(m.Reply, role, id) {
		s.peerLog.Warn("history request with a reply subject outside the requester's inbox, not answered", "subject", m.Subject, "reply", m.Reply)
		return
	}
	key, limit := "frontend:"+id, maxReadersPerClient
	if admin {
		key, limit = "admin:"+id, maxReadersPerAdmin
	}
	if !s.busy.Take(key, limit) {
		s.respond(m, messages.Errorf(messages.CodeUnavailable, "", "the history is serving %d requests of this client already; try again", limit))
		return
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.busy.Give(key)
		s.respond(m, messages.Errorf(messages.CodeUnavailable, "", "the history is busy; try again"))
		return
	}
	s.wg.Add(1)
	go func() { // ends with its answer, within the store's timeout
		defer s.wg.Done()
		defer func() { <-s.sem }()
		defer s.busy.Give(key)
		s.respond(m, s.answer(Viewer{ClientID: id, Admin: admin}, m.Data))
	}()
}

func (s *Server) answer(v Viewer, data []byte) messages.Message {
	msg, err := messages.Decode(data)
	if err != nil {
		return messages.Errorf(messages.CodeMalformed, "", "%v", err)
	}
	q, ok := msg.(*messages.ClientGetHistory)
	if !ok {
		return messages.Errorf(messages.CodeUnexpected, "", "a %s on a history subject: send ClientGetHistory", msg.MessageName())
	}
	if err := q.Validate(); err != nil {
		return messages.Errorf(messages.CodeBadRequest, q.JobID, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.st.opts.Timeout)
	defer cancel()
	if q.JobID != "" {
		r, err := s.st.Get(ctx, v, q.JobID)
		switch {
		case errors.Is(err, ErrNotFound):
			return messages.Errorf(messages.CodeUnknownJob, q.JobID, "job %s is not in the history: it has not finished, is older than the retention, or is not yours", q.JobID)
		case err != nil:
			s.log.Warn("history read failed", "job", q.JobID, "err", err)
			return messages.Errorf(messages.CodeUnavailable, q.JobID, "the history cannot be read now: %v", err)
		}
		return &messages.BackendHistory{Jobs: []messages.JobRecord{*r}}
	}
	jobs, next, err := s.st.List(ctx, v, q)
	if err != nil {
		s.log.Warn("history listing failed", "err", err)
		return messages.Errorf(messages.CodeUnavailable, "", "the history cannot be read now: %v", err)
	}
	return &messages.BackendHistory{Jobs: jobs, Next: next}
}

func (s *Server) respond(m *nats.Msg, out messages.Message) {
	data, err := messages.Encode(out)
	if err != nil {
		s.log.Error("history: encode an answer", "err", err)
		return
	}
	if err := m.Respond(data); err != nil {
		s.log.Debug("history: answer not sent", "err", err)
	}
}
