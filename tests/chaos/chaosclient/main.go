// Command chaosclient is the frontend of the chaos suite: a process that
// submits a steady load of jobs under a stable client id and stores every
// result in a file, the way a course web app stores grades. It can be
// SIGKILLed at any moment and started again with the same arguments: it
// reads its file back, resubmits what it submitted without a result, and
// collects results that finished while it was dead.
//
// The file has one line per event, each written with one write call:
//
//	submitted <job-id>
//	result <job-id> <status> <unix-nanos>
//
// A result line is written before the result is acknowledged, so a result
// is never lost; the ids with a result line are what the client library's
// Options.Delivered reports, so no result is stored twice.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/internal/natsauth"
	"github.com/ingo-grader/ingo/internal/natsconn"
	"github.com/ingo-grader/ingo/internal/tlsfiles"
	"github.com/ingo-grader/ingo/messages"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaosclient:", err)
		os.Exit(1)
	}
}

// store is the application's result store: the file, and what it holds.
type store struct {
	mu        sync.Mutex
	f         *os.File
	submitted map[string]bool
	results   map[string]bool
	changed   chan struct{}
}

func openStore(path string) (*store, error) {
	s := &store{submitted: map[string]bool{}, results: map[string]bool{}, changed: make(chan struct{}, 1)}
	if data, err := os.ReadFile(path); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) >= 2 && f[0] == "submitted":
				s.submitted[f[1]] = true
			case len(f) >= 2 && f[0] == "result":
				s.results[f[1]] = true
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	s.f = f
	return s, nil
}

func (s *store) line(format string, args ...any) error {
	_, err := s.f.WriteString(fmt.Sprintf(format, args...) + "\n")
	return err
}

func (s *store) markSubmitted(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.submitted[id] {
		return nil
	}
	s.submitted[id] = true
	return s.line("submitted %s", id)
}

// onResult is the client's Options.OnResult.
func (s *store) onResult(m *messages.BackendJobDone) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.results[m.JobID] {
		return nil
	}
	if err := s.line("result %s %s %d", m.JobID, m.Result.Status, time.Now().UnixNano()); err != nil {
		return err
	}
	s.results[m.JobID] = true
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

func (s *store) delivered(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.results[id]
}

func (s *store) count(ids []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		if s.results[id] {
			n++
		}
	}
	return n
}

func run() error {
	natsURL := flag.String("nats-url", "nats://127.0.0.1:4222", "NATS URLs, comma-separated")
	id := flag.String("client-id", "chaos-1", "stable client id; also the prefix of job ids")
	jobs := flag.Int("jobs", 50, "jobs to submit")
	rate := flag.Float64("rate", 10, "jobs submitted per second")
	out := flag.String("out", "results.log", "result store")
	env := flag.String("env", "docker/default", "environment type/name")
	sleep := flag.String("sleep", "300ms", "how long each (fake) job runs")
	credsFile := flag.String("creds", "", "NATS credentials of the frontend named --client-id")
	caFile := flag.String("tls-ca", "", "the NATS servers' CA: TLS with it, as nats.tls-ca")
	flag.Parse()
	envType, envName, ok := strings.Cut(*env, "/")
	if !ok {
		return fmt.Errorf("--env must be type/name")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	s, err := openStore(*out)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var creds *natsauth.Credentials
	if *credsFile != "" {
		if creds, err = natsauth.ReadCreds(*credsFile); err != nil {
			return err
		}
	}
	var tlsConf *tls.Config
	if *caFile != "" {
		if tlsConf, err = tlsfiles.ClientConfig(*caFile); err != nil {
			return err
		}
	}
	nc, err := natsconn.Connect(natsconn.Options{URL: *natsURL, Name: *id, Creds: creds, TLS: tlsConf})
	if err != nil {
		return err
	}
	defer nc.Close()
	c, err := frontendclient.New(ctx, nc, frontendclient.Options{
		Name: *id, ClientID: *id, Log: log, OnResult: s.onResult, Delivered: s.delivered,
		RequestTimeout: 2 * time.Second,
	})
	if err != nil {
		return err
	}
	defer c.Close()

	ids := make([]string, *jobs)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", *id, i)
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	for _, jid := range ids {
		if s.delivered(jid) {
			continue
		}
		if err := s.markSubmitted(jid); err != nil {
			return err
		}
		req := frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
			JobID: jid, CourseID: "chaos", TaskID: "steady", EnvironmentType: envType, Environment: envName,
			InputData: map[string]any{"@fake": map[string]any{"sleep": *sleep}},
		}, Launcher: "chaosclient"}}
		if err := submit(ctx, c, req, log); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(os.Stderr, "chaosclient %s: all %d jobs submitted\n", *id, len(ids))
	for s.count(ids) < len(ids) {
		select {
		case <-s.changed:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Printf("chaosclient %s: %d results\n", *id, len(ids))
	return nil
}

// submit sends one job until the backend has it: queued now, or already
// (a duplicate id: an earlier process of ours submitted it).
func submit(ctx context.Context, c *frontendclient.Client, req frontendclient.JobRequest, log *slog.Logger) error {
	for {
		_, err := c.NewJob(ctx, req)
		var me *messages.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &me) && me.Code == messages.CodeDuplicateJob:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, frontendclient.ErrNoAnswer), errors.As(err, &me) && me.Code == messages.CodeUnavailable:
			log.Info("submission not answered; again", "job", req.JobID, "err", err)
			time.Sleep(200 * time.Millisecond)
		default:
			return fmt.Errorf("submit %s: %w", req.JobID, err)
		}
	}
}
