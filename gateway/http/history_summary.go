package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// GET /api/v1/history/summary: per course, how many jobs finished in a
// window, by status, and the median wait (started - submitted) and run
// (finished - started). It is computed here rather than in the page so
// that the page need not page through thousands of records, and a
// frontend token is confined as in GET /api/v1/jobs.
//
// It is not under /api/v1/jobs/: a literal segment there would shadow the
// job of that id (GET and DELETE /api/v1/jobs/summary).

const (
	// summaryMaxRecords bounds the records one summary reads (ten pages
	// of the largest size): a busy course's month would otherwise be
	// read whole on every dashboard refresh. Past it the answer says
	// truncated, and covered_since how far back it got.
	summaryMaxRecords = 10 * messages.MaxHistoryPage
	// summaryDefaultSince is the window when ?since= is not given.
	summaryDefaultSince = 24 * time.Hour
)

// historyPager reads one page of the history: frontendclient's History,
// or a fake in tests.
type historyPager func(ctx context.Context, q messages.ClientGetHistory) ([]messages.JobRecord, uint64, error)

// courseSummary is one course's line (course_id "" for jobs without one),
// or the total over every course.
type courseSummary struct {
	CourseID string                  `json:"course_id"`
	Finished int                     `json:"finished"`
	Statuses map[messages.Status]int `json:"statuses"`
	// Started counts the jobs that reached an agent: the medians are over
	// them (a job killed while it waited has neither wait nor run).
	Started    int      `json:"started"`
	MedianWait *float64 `json:"median_wait"`
	MedianRun  *float64 `json:"median_run"`
	waits      []float64
	runs       []float64
}

// historySummary is the answer.
type historySummary struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until"`
	// CoveredSince is the finish time of the oldest record read when the
	// summary stopped at summaryMaxRecords (Since otherwise).
	CoveredSince time.Time       `json:"covered_since"`
	Scanned      int             `json:"scanned"`
	Truncated    bool            `json:"truncated"`
	Courses      []courseSummary `json:"courses"`
	Total        courseSummary   `json:"total"`
}

func newCourseSummary(course string) *courseSummary {
	return &courseSummary{CourseID: course, Statuses: map[messages.Status]int{}}
}

func (c *courseSummary) add(r *messages.JobRecord) {
	c.Finished++
	c.Statuses[r.Result.Status]++
	if r.StartedAt <= 0 {
		return
	}
	c.Started++
	c.waits = append(c.waits, max(0, float64(r.StartedAt-r.SubmittedAt)/1000))
	c.runs = append(c.runs, max(0, float64(r.FinishedAt-r.StartedAt)/1000))
}

func (c *courseSummary) finish() {
	c.MedianWait, c.MedianRun = median(c.waits), median(c.runs)
	c.waits, c.runs = nil, nil
}

// median of v (sorted in place), nil for none; rounded to the
// millisecond, the history's resolution.
func median(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + m) / 2
	}
	m = float64(int64(m*1000+0.5)) / 1000
	return &m
}

// summarize pages through the history q selects, newest first, reading
// at most maxRecords records, and counts the records visible accepts (a frontend token: its own).
func summarize(ctx context.Context, page historyPager, q messages.ClientGetHistory, maxRecords int,
	visible func(*messages.JobRecord) bool) (historySummary, error) {
	out := historySummary{Since: time.UnixMilli(q.Since).UTC(), CoveredSince: time.UnixMilli(q.Since).UTC()}
	if q.Until != 0 {
		u := time.UnixMilli(q.Until).UTC()
		out.Until = &u
	}
	courses := map[string]*courseSummary{}
	total := newCourseSummary("")
	q.Cursor = 0
	for {
		q.Limit = min(messages.MaxHistoryPage, maxRecords-out.Scanned)
		jobs, next, err := page(ctx, q)
		if err != nil {
			return out, fmt.Errorf("history summary, after %d records: %w", out.Scanned, err)
		}
		for i := range jobs {
			r := &jobs[i]
			out.Scanned++
			if !visible(r) {
				continue
			}
			c := courses[r.CourseID]
			if c == nil {
				c = newCourseSummary(r.CourseID)
				courses[r.CourseID] = c
			}
			c.add(r)
			total.add(r)
		}
		if next == 0 || len(jobs) == 0 || (q.Cursor != 0 && next >= q.Cursor) {
			break // the end, or a cursor that does not move back (never loop)
		}
		if out.Scanned >= maxRecords {
			out.Truncated = true
			out.CoveredSince = time.UnixMilli(jobs[len(jobs)-1].FinishedAt).UTC()
			break
		}
		q.Cursor = next
	}
	out.Courses = make([]courseSummary, 0, len(courses))
	for _, c := range courses {
		c.finish()
		out.Courses = append(out.Courses, *c)
	}
	slices.SortFunc(out.Courses, func(a, b courseSummary) int { return strings.Compare(a.CourseID, b.CourseID) })
	total.finish()
	out.Total = *total
	return out, nil
}

// historySummaryHandler is GET /api/v1/history/summary?since=24h
// [&until=] [&course=].
func (s *Server) historySummaryHandler(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	q, err := summaryQuery(r, time.Now())
	if err != nil {
		fail(w, errf(http.StatusBadRequest, "bad_query", err.Error()))
		return
	}
	course := frontendCourse(p, &q.CourseID)
	release, err := s.historyTurns.take(p.owner())
	defer release()
	if err != nil {
		fail(w, err)
		return
	}
	out, err := summarize(r.Context(), s.client.History, q, summaryMaxRecords, func(rec *messages.JobRecord) bool {
		return s.sees(p, rec, course)
	})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// summaryQuery reads ?since= (default 24h back from now) &until= &course=
// as GET /api/v1/jobs does; a status or a page is not for a summary.
func summaryQuery(r *http.Request, now time.Time) (messages.ClientGetHistory, error) {
	v := r.URL.Query()
	for _, k := range []string{"status", "limit", "cursor"} {
		if v.Has(k) {
			return messages.ClientGetHistory{}, errors.New(k + ": a summary counts every status over the whole window; give since, until and course only")
		}
	}
	q, err := historyQuery(r)
	if err != nil {
		return q, err
	}
	if v.Get("since") == "" {
		q.Since = now.Add(-summaryDefaultSince).UnixMilli()
	}
	return q, q.Validate()
}
