package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/frontendclient"
	"github.com/ingo-grader/ingo/gateway/http/apitoken"
	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

// summaryT0 is the submission time of the fake records, in Unix ms.
const summaryT0 = int64(1_767_348_000_000)

// rec is a history record: submitted at summaryT0, started wait ms later
// (never when wait < 0), finished run ms after that.
func rec(id, course string, st messages.Status, wait, run int64) messages.JobRecord {
	r := messages.JobRecord{JobID: id, CourseID: course, SubmittedAt: summaryT0, FinishedAt: summaryT0 + max(wait, 0) + run}
	if wait >= 0 {
		r.StartedAt = summaryT0 + wait
	}
	r.Result.Status = st
	return r
}

// fakePages serves records newest first in pages of the asked size; the
// cursor goes down as the backend's (a stream sequence) does: the records
// left plus one. It keeps the queries.
type fakePages struct {
	records []messages.JobRecord
	err     error // answered from the second page on
	asked   []messages.ClientGetHistory
}

func (f *fakePages) page(_ context.Context, q messages.ClientGetHistory) ([]messages.JobRecord, uint64, error) {
	f.asked = append(f.asked, q)
	if f.err != nil && len(f.asked) > 1 {
		return nil, 0, f.err
	}
	from := 0
	if q.Cursor > 0 {
		from = len(f.records) - int(q.Cursor) + 1
	}
	to := min(len(f.records), from+q.Limit)
	var next uint64
	if to < len(f.records) {
		next = uint64(len(f.records)-to) + 1
	}
	return f.records[from:to], next, nil
}

func ptr(v float64) *float64 { return &v }

func TestSummarize(t *testing.T) {
	t.Parallel()
	all := func(*messages.JobRecord) bool { return true }
	many := make([]messages.JobRecord, 25)
	for i := range many {
		many[i] = rec("m", "big", messages.StatusSuccess, 1000, 2000)
		// Newest first.
		many[i].SubmittedAt -= int64(i)
		many[i].StartedAt -= int64(i)
		many[i].FinishedAt -= int64(i)
	}
	for _, c := range []struct {
		name      string
		records   []messages.JobRecord
		visible   func(*messages.JobRecord) bool
		max       int
		want      []courseSummary // finished, statuses, started, medians
		total     courseSummary
		scanned   int
		truncated bool
		pages     int
	}{{
		name: "empty", visible: all, max: 100, want: []courseSummary{},
		total: courseSummary{Statuses: map[messages.Status]int{}}, pages: 1,
	}, {
		name: "two courses, odd and even counts",
		records: []messages.JobRecord{
			rec("a1", "algo", messages.StatusSuccess, 100, 1000),
			rec("a2", "algo", messages.StatusFailed, 300, 3000),
			rec("a3", "algo", messages.StatusSuccess, 200, 2000),
			rec("b1", "bio", messages.StatusTimeout, 1000, 10000),
			rec("b2", "bio", messages.StatusSuccess, 3000, 20000),
		},
		visible: all, max: 100,
		want: []courseSummary{
			{CourseID: "algo", Finished: 3, Started: 3, Statuses: map[messages.Status]int{"success": 2, "failed": 1},
				MedianWait: ptr(0.2), MedianRun: ptr(2)},
			{CourseID: "bio", Finished: 2, Started: 2, Statuses: map[messages.Status]int{"timeout": 1, "success": 1},
				MedianWait: ptr(2), MedianRun: ptr(15)},
		},
		total: courseSummary{Finished: 5, Started: 5, Statuses: map[messages.Status]int{"success": 3, "failed": 1, "timeout": 1},
			MedianWait: ptr(0.3), MedianRun: ptr(3)},
		scanned: 5, pages: 1,
	}, {
		name: "a job killed while it waited has no wait or run",
		records: []messages.JobRecord{
			rec("k", "", messages.StatusKilled, -1, 500),
			rec("s", "", messages.StatusSuccess, 250, 750),
		},
		visible: all, max: 100,
		want: []courseSummary{{CourseID: "", Finished: 2, Started: 1, Statuses: map[messages.Status]int{"killed": 1, "success": 1},
			MedianWait: ptr(0.25), MedianRun: ptr(0.75)}},
		total: courseSummary{Finished: 2, Started: 1, Statuses: map[messages.Status]int{"killed": 1, "success": 1},
			MedianWait: ptr(0.25), MedianRun: ptr(0.75)},
		scanned: 2, pages: 1,
	}, {
		name: "a frontend counts its own jobs only, but reads them all",
		records: []messages.JobRecord{
			rec("mine", "algo", messages.StatusSuccess, 100, 100),
			rec("other", "algo", messages.StatusFailed, 100, 100),
		},
		visible: func(r *messages.JobRecord) bool { return r.JobID == "mine" }, max: 100,
		want: []courseSummary{{CourseID: "algo", Finished: 1, Started: 1, Statuses: map[messages.Status]int{"success": 1},
			MedianWait: ptr(0.1), MedianRun: ptr(0.1)}},
		total: courseSummary{Finished: 1, Started: 1, Statuses: map[messages.Status]int{"success": 1},
			MedianWait: ptr(0.1), MedianRun: ptr(0.1)},
		scanned: 2, pages: 1,
	}, {
		name: "paged to the end", records: many[:20], visible: all, max: 100,
		want: []courseSummary{{CourseID: "big", Finished: 20, Started: 20, Statuses: map[messages.Status]int{"success": 20},
			MedianWait: ptr(1), MedianRun: ptr(2)}},
		total: courseSummary{Finished: 20, Started: 20, Statuses: map[messages.Status]int{"success": 20},
			MedianWait: ptr(1), MedianRun: ptr(2)},
		scanned: 20, pages: 1,
	}, {
		name: "stops at the bound", records: many, visible: all, max: 10,
		want: []courseSummary{{CourseID: "big", Finished: 10, Started: 10, Statuses: map[messages.Status]int{"success": 10},
			MedianWait: ptr(1), MedianRun: ptr(2)}},
		total: courseSummary{Finished: 10, Started: 10, Statuses: map[messages.Status]int{"success": 10},
			MedianWait: ptr(1), MedianRun: ptr(2)},
		scanned: 10, truncated: true, pages: 1,
	}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := &fakePages{records: c.records}
			q := messages.ClientGetHistory{CourseID: "", Since: summaryT0 - 1000, Until: summaryT0 + 100_000}
			got, err := summarize(t.Context(), f.page, q, c.max, c.visible)
			if err != nil {
				t.Fatal(err)
			}
			if got.Scanned != c.scanned || got.Truncated != c.truncated || len(f.asked) != c.pages {
				t.Errorf("scanned %d, truncated %v, %d pages; want %d, %v, %d", got.Scanned, got.Truncated, len(f.asked),
					c.scanned, c.truncated, c.pages)
			}
			if !reflect.DeepEqual(got.Courses, c.want) {
				t.Errorf("courses:\n got %s\nwant %s", js(got.Courses), js(c.want))
			}
			if !reflect.DeepEqual(got.Total, c.total) {
				t.Errorf("total:\n got %s\nwant %s", js(got.Total), js(c.total))
			}
			if !got.Since.Equal(time.UnixMilli(q.Since)) || got.Until == nil || !got.Until.Equal(time.UnixMilli(q.Until)) {
				t.Errorf("window %v to %v, want the query's", got.Since, got.Until)
			}
			if c.truncated != !got.CoveredSince.Equal(got.Since) {
				t.Errorf("covered_since %v with truncated %v", got.CoveredSince, c.truncated)
			}
		})
	}
}

// Pages follow each other by cursor, ask for no more than the bound
// leaves, and keep the filters.
func TestSummarizePages(t *testing.T) {
	t.Parallel()
	records := make([]messages.JobRecord, 2500)
	for i := range records {
		records[i] = rec("j", "c", messages.StatusSuccess, 10, 10)
	}
	f := &fakePages{records: records}
	got, err := summarize(t.Context(), f.page, messages.ClientGetHistory{CourseID: "c", Since: 5}, 2200, func(*messages.JobRecord) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if got.Scanned != 2200 || !got.Truncated || got.Total.Finished != 2200 {
		t.Errorf("scanned %d, truncated %v, finished %d; want 2200, true, 2200", got.Scanned, got.Truncated, got.Total.Finished)
	}
	want := []messages.ClientGetHistory{
		{CourseID: "c", Since: 5, Limit: 1000},
		{CourseID: "c", Since: 5, Limit: 1000, Cursor: 1501},
		{CourseID: "c", Since: 5, Limit: 200, Cursor: 501},
	}
	if !reflect.DeepEqual(f.asked, want) {
		t.Errorf("asked %+v, want %+v", f.asked, want)
	}

	f = &fakePages{records: records, err: frontendclient.ErrNoAnswer}
	if _, err := summarize(t.Context(), f.page, messages.ClientGetHistory{}, 5000, func(*messages.JobRecord) bool { return true }); !errors.Is(err, frontendclient.ErrNoAnswer) {
		t.Errorf("a failing page: %v, want ErrNoAnswer wrapped", err)
	}
}

func TestSummaryQuery(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(summaryT0)
	for _, c := range []struct {
		query     string
		since     int64
		course    string
		wantError bool
	}{
		{"", summaryT0 - 24*3600_000, "", false},
		{"?since=1h&course=algo", -1, "algo", false},
		{"?since=2026-01-02T10:00:00Z", time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC).UnixMilli(), "", false},
		{"?since=yesterday", 0, "", true},
		{"?status=success", 0, "", true},
		{"?limit=5", 0, "", true},
		{"?since=1h&until=2h", 0, "", true},
	} {
		q, err := summaryQuery(httptest.NewRequest("GET", "/api/v1/history/summary"+c.query, nil), now)
		if (err != nil) != c.wantError {
			t.Errorf("%q: error %v, want error %v", c.query, err, c.wantError)
			continue
		}
		if err == nil && ((c.since >= 0 && q.Since != c.since) || (c.since < 0 && q.Since <= 0) || q.CourseID != c.course) {
			t.Errorf("%q: since %d, course %q; want %d, %q", c.query, q.Since, q.CourseID, c.since, c.course)
		}
	}
}

// Through the API, on a durable backend: a job the CLI submitted counts
// for an admin, not for a frontend token, and the answer is what
// openapi.json says (e.call checks).
func TestHistorySummaryThroughTheAPI(t *testing.T) {
	e := newEnvWith(t, Options{AdminToken: testToken}, true)
	alice := bearer(e.token(apitoken.RoleFrontend, "alice"))
	cl, err := frontendclient.New(context.Background(), e.connect("cli"), frontendclient.Options{ClientID: "cli", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, id := range []string{"cli-1", "cli-2"} {
		job, err := cl.NewJob(t.Context(), frontendclient.JobRequest{ClientNewJob: messages.ClientNewJob{JobDescription: messages.JobDescription{
			JobID: id, CourseID: "c1", EnvironmentType: "docker", Environment: "default"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := job.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var s historySummary
	testutil.Eventually(t, wait, func() bool {
		code, body := e.call("GET", "/api/v1/history/summary?since=1h", "", nil)
		return code == http.StatusOK && json.Unmarshal(body, &s) == nil && s.Total.Finished == 2
	}, "both CLI jobs in the admin's summary")
	if len(s.Courses) != 1 || s.Courses[0].CourseID != "c1" || s.Courses[0].Started != 2 || s.Courses[0].MedianWait == nil || s.Truncated {
		t.Errorf("admin summary %s", js(s))
	}
	code, body := e.call("GET", "/api/v1/history/summary", "", nil, alice...)
	if err := json.Unmarshal(body, &s); code != http.StatusOK || err != nil || s.Total.Finished != 0 || len(s.Courses) != 0 || s.Scanned != 2 {
		t.Errorf("alice's summary: %d %s; want nothing counted of 2 read", code, body)
	}
	if code, body := e.call("GET", "/api/v1/history/summary?since=soon", "", nil); code != http.StatusBadRequest {
		t.Errorf("a bad since: %d %s", code, body)
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
