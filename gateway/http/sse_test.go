package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// event is one server-sent event.
type event struct {
	name string
	data string
}

// events reads a job's event stream until it ends (or wait passes), and
// checks every event's data against its schema.
func (e *env) events(path string) []event {
	e.t.Helper()
	return e.eventsWith(path)
}

// eventsWith is events with request headers (name, value pairs).
func (e *env) eventsWith(path string, header ...string) []event {
	e.t.Helper()
	out, timedOut := e.readEvents(path, header, 0)
	if timedOut {
		e.t.Fatalf("GET %s: the stream did not end within %v; got %v", path, wait, out)
	}
	return out
}

// firstEvent reads a stream's first event and hangs up.
func (e *env) firstEvent(path string) event {
	e.t.Helper()
	return e.firstEventWith(path)
}

// firstEventWith is firstEvent with request headers (name, value pairs).
func (e *env) firstEventWith(path string, header ...string) event {
	e.t.Helper()
	out, _ := e.readEvents(path, header, 1)
	if len(out) == 0 {
		e.t.Fatalf("GET %s: no event", path)
	}
	return out[0]
}

// readEvents reads the stream at path until it ends, wait passes, or it
// has max events (0: no bound), checking each against its schema.
func (e *env) readEvents(path string, header []string, max int) (out []event, timedOut bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	setHeaders(req, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	var cur event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" {
				e.checkEvent(cur)
				out = append(out, cur)
				if len(out) == max {
					return out, false
				}
			}
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	return out, ctx.Err() != nil
}

// checkEvent validates event data: done is a Result, queue a Queue.
func (e *env) checkEvent(ev event) {
	e.t.Helper()
	schema := map[string]string{"done": "Result", "queue": "Queue"}[ev.name]
	if schema == "" {
		return
	}
	var v any
	if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
		e.t.Fatalf("event %s: %v", ev.name, err)
	}
	if err := e.doc.validate(e.doc.component(schema), v, ev.name); err != nil {
		e.t.Errorf("event %s does not match %s: %v", ev.name, schema, err)
	}
}
