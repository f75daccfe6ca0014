package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ingo-grader/ingo/cmd/ingo/metrics"
	"github.com/ingo-grader/ingo/containers"
	"github.com/ingo-grader/ingo/containers/docker"
	api "github.com/ingo-grader/ingo/gateway/http"
	"github.com/ingo-grader/ingo/internal/httpserve"
)

// serveMetrics serves mux at addr until ctx ends, then shuts down
// gracefully (5 s at most). It returns an error when addr cannot be
// listened on or the server fails.
func serveMetrics(ctx context.Context, log *slog.Logger, addr string, mux http.Handler) error {
	l, err := listenMetrics(addr)
	if err != nil {
		return err
	}
	return serveListener(ctx, log, l, mux)
}

func listenMetrics(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w (choose another address in the *.metrics-addr setting)", addr, err)
	}
	return l, nil
}

func serveListener(ctx context.Context, log *slog.Logger, l net.Listener, mux http.Handler) error {
	return httpserve.Serve(ctx, l, mux, httpserve.Options{Log: log, Ready: func(string) {
		log.Info("serving /metrics, /healthz and /readyz", "addr", l.Addr().String())
	}})
}

// metricsMux serves /metrics from reg, /healthz (200 while the process
// runs) and /readyz: 200 {"status":"ready"} when ready returns "", else
// 503 with the status it returns ("disconnected", "standby").
func metricsMux(reg *prometheus.Registry, ready func() string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s := ready(); s != "" {
			writeStatus(w, http.StatusServiceUnavailable, s)
			return
		}
		writeStatus(w, http.StatusOK, "ready")
	})
	return mux
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// natsReady is the readiness of a component that needs nothing but NATS.
func natsReady(nc *nats.Conn) string {
	if !nc.IsConnected() {
		return "disconnected"
	}
	return ""
}

// startMetrics serves mux at addr in the background; stop ends the server
// and waits for it. It fails at once when addr cannot be listened on.
func startMetrics(ctx context.Context, log *slog.Logger, addr string, mux http.Handler) (stop func(), err error) {
	l, err := listenMetrics(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := serveListener(ctx, log, l, mux); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// backendMetrics serves the backend's metrics at backend.metrics-addr;
// with none set, m is nil (its methods then do nothing). /readyz is ready
// while nc is connected and this process runs the active backend.
func (a *app) backendMetrics(ctx context.Context, nc *nats.Conn) (m *metrics.Backend, stop func(), err error) {
	addr := a.cfg.Backend.MetricsAddr
	if addr == "" && a.upRegistry == nil {
		return nil, func() {}, nil
	}
	reg := a.registry()
	if m, err = metrics.NewBackend(reg); err != nil {
		return nil, nil, err
	}
	if err := metrics.RegisterNATS(reg, "backend", nc); err != nil {
		return nil, nil, err
	}
	if addr == "" { // ingo up: on its one /metrics
		return m, func() {}, nil
	}
	ready := func() string {
		if s := natsReady(nc); s != "" {
			return s
		}
		if !m.Active() {
			return "standby"
		}
		return ""
	}
	stop, err = startMetrics(ctx, a.log.With("component", "metrics"), addr, metricsMux(reg, ready))
	return m, stop, err
}

// agentMetrics serves the agent's metrics at agent.metrics-addr; with
// none set, m is nil (its methods then do nothing). /readyz is ready while
// nc is connected.
func (a *app) agentMetrics(ctx context.Context, nc *nats.Conn, rt containers.Runtime) (m *metrics.Agent, stop func(), err error) {
	addr := a.cfg.Agent.MetricsAddr
	if addr == "" && a.upRegistry == nil {
		return nil, func() {}, nil
	}
	reg := a.registry()
	if m, err = metrics.NewAgent(reg); err != nil {
		return nil, nil, err
	}
	if err := registerPool(reg, rt); err != nil {
		return nil, nil, err
	}
	if err := metrics.RegisterNATS(reg, "agent", nc); err != nil {
		return nil, nil, err
	}
	if addr == "" { // ingo up: on its one /metrics
		return m, func() {}, nil
	}
	stop, err = startMetrics(ctx, a.log.With("component", "metrics"), addr, metricsMux(reg, func() string { return natsReady(nc) }))
	return m, stop, err
}

// registerPool registers the warm pool's metrics when rt is a Docker
// runtime, also wrapped (by mcq, which agent.mcq puts around it by
// default).
func registerPool(reg *prometheus.Registry, rt containers.Runtime) error {
	for {
		w, ok := rt.(interface{ Unwrap() containers.Runtime })
		if !ok {
			break
		}
		rt = w.Unwrap()
	}
	if d, ok := rt.(*docker.Runtime); ok {
		return metrics.RegisterPool(reg, func() metrics.PoolStats { return poolStats(d.PoolStats()) })
	}
	return nil
}

// metricsHandler serves the Prometheus metrics of `ingo api`: the HTTP
// API's counters (srv.Stats), its NATS connection, Go and process.
func (a *app) metricsHandler(srv *api.Server, nc *nats.Conn) http.Handler {
	reg := a.registry()
	// Both register once on a fresh registry: they cannot fail.
	if err := metrics.RegisterAPI(reg, func() metrics.APIStats { return apiStats(srv.Stats()) }); err != nil {
		a.log.Error("metrics", "err", err)
	}
	if err := metrics.RegisterNATS(reg, "api", nc); err != nil {
		a.log.Error("metrics", "err", err)
	}
	return metrics.Handler(reg)
}

// registry is where a component registers its metrics: ingo up's one
// registry, served with the API's /metrics, or a fresh one.
func (a *app) registry() *prometheus.Registry {
	if a.upRegistry != nil {
		return a.upRegistry
	}
	return metrics.NewRegistry()
}

func apiStats(s api.Stats) metrics.APIStats {
	out := metrics.APIStats{
		Requests:      make(map[metrics.APIRoute]uint64, len(s.Requests)),
		SSEClients:    int(s.SSEClients),
		JobsSubmitted: uint64(max(s.JobsSubmitted, 0)),
		JobsKept:      s.JobsKept,
		JobBytes:      s.JobBytes,
	}
	for _, r := range s.Requests {
		out.Requests[metrics.APIRoute{Route: r.Route, Code: r.Code}] += uint64(max(r.Count, 0))
	}
	return out
}

func poolStats(s docker.PoolStats) metrics.PoolStats {
	return metrics.PoolStats{Hits: s.Hits, Misses: s.Misses, Bypassed: s.Bypassed, Made: s.Made,
		Discarded: s.Discarded, Reshaped: s.Reshaped, Idle: s.Idle}
}
