package backend

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ingo-grader/ingo/messages"
)

// TestCaps_CountEachFrontendsCourses: a frontend chooses its course ids,
// so another frontend's course of the same name is another course: one
// frontend filling the caps of "algo" (or of its user "ann") does not
// get the other frontend's "algo" jobs refused.
func TestCaps_CountEachFrontendsCourses(t *testing.T) {
	tests := []struct {
		name              string
		perCourse, perUsr int
		evilUser          string // the user of the jobs that fill the cap
		word              string // the cap the evil frontend's extra job hits
	}{
		{"course cap", 3, 0, "mallory", "max-waiting-per-course"},
		{"user cap", 0, 3, "ann", "max-waiting-per-user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.EnvironmentGrace = time.Hour // no agent: everything waits
				c.MaxWaitingPerCourse, c.MaxWaitingPerUser = tc.perCourse, tc.perUsr
			})
			evil, victim := r.client("evil"), r.client("victim")
			job := func(id, user string) *messages.ClientNewJob {
				j := newJob(id, "default", 0)
				j.CourseID = "algo"
				j.InputData["@username"] = user
				return j
			}
			for _, id := range []string{"e1", "e2", "e3"} {
				evil.submit(job(id, tc.evilUser))
			}
			evil.send(job("e4", tc.evilUser))
			if e := next[*messages.Error](evil); e.Code != messages.CodeQueueFull || !strings.Contains(e.Text, tc.word) {
				t.Fatalf("evil's job over its own cap: %+v", e)
			}
			victim.submit(job("v1", "ann")) // its own algo, its own ann
		})
	}
}

// TestFairShare_CoursesAreEachFrontends: the fair share weighs a
// frontend's course, not a course name: two frontends flooding courses
// of the same name (and users of the same name) get a share each, as
// much as a third course. A weight named "client/course" counts for that
// frontend's course only; one named by the course alone for that course
// of every frontend.
func TestFairShare_CoursesAreEachFrontends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights map[string]string
		want    map[string]float64 // share of slot-time per "client/course"
	}{
		{"same names, two frontends", nil,
			map[string]float64{"evil/algo": 1, "victim/algo": 1, "victim/java": 1}},
		{"a weight for one frontend's course", map[string]string{"victim/algo": "2"},
			map[string]float64{"evil/algo": 1, "victim/algo": 2, "victim/java": 1}},
		{"a weight by course name, for every frontend", map[string]string{"algo": "2"},
			map[string]float64{"evil/algo": 2, "victim/algo": 2, "victim/java": 1}},
		{"client/course before the course name", map[string]string{"algo": "2", "evil/algo": "0.5"},
			map[string]float64{"evil/algo": 0.5, "victim/algo": 2, "victim/java": 1}},
		// The HTTP API is one admin client for all its tokens, each a
		// frontend of its own (before, its tokens' algo was one course).
		{"same names, two frontends of one admin", nil,
			map[string]float64{"api:evil/algo": 1, "api:victim/algo": 1, "api/algo": 1}},
		{"a weight for one admin frontend's course", map[string]string{"api:victim/algo": "2", "api/algo": "0.5"},
			map[string]float64{"api:evil/algo": 1, "api:victim/algo": 2, "api/algo": 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 4, tc.weights)
			for key := range tc.want {
				client, course, _ := strings.Cut(key, "/") // "client:frontend" stays whole
				s.submitAs(client, course, "ann", 3000, 100*time.Millisecond)
			}
			s.stopAt = 30 * time.Second // all three still wait then
			for s.now < s.stopAt && s.step() {
			}
			var total, weights float64
			for key, w := range tc.want {
				total += float64(s.slotTOf[key])
				weights += w
			}
			for key, w := range tc.want {
				got, want := float64(s.slotTOf[key])/total, w/weights
				if math.Abs(got-want)/want > 0.05 {
					t.Errorf("%s had %.3f of the slot-time, want %.3f within 5%% (all: %v)", key, got, want, s.slotTOf)
				}
			}
		})
	}
}
