package streamspace_test

import (
	"context"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ingo-grader/ingo/internal/streamspace"
	"github.com/ingo-grader/ingo/internal/testutil"
)

func TestOf(t *testing.T) {
	sp := streamspace.New()
	for _, tc := range []struct {
		name     string
		subjects []string
		want     string
	}{
		{"the space", []string{"ingo.journal." + sp + ".>"}, sp},
		{"after another subject", []string{"other.>", "ingo.journal." + sp + ".batch"}, sp},
		{"an older layout", []string{"ingo.journal.>"}, ""},
		{"a word that is no space", []string{"ingo.journal.batch.v1"}, ""},
		{"another head", []string{"ingo.history." + sp + ".>"}, ""},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := streamspace.Of(tc.subjects, "ingo.journal."); got != tc.want {
				t.Errorf("Of = %q, want %q", got, tc.want)
			}
		})
	}
	if a, b := streamspace.New(), streamspace.New(); a == b || !streamspace.Valid(a) {
		t.Errorf("New made %q and %q", a, b)
	}
}

// TestOpen: a stream is made with a space, opened again with the same,
// moved from an older layout (its messages kept), and two processes that
// make it at once agree on one space.
func TestOpen(t *testing.T) {
	js := testutil.SuperJS(t, testutil.StartNATS(t).URL)
	ctx := context.Background()
	open := func(name string) (jetstream.Stream, string) {
		t.Helper()
		st, sp, err := streamspace.Open(ctx, js, jetstream.StreamConfig{Name: name}, "ingo."+name+".",
			func(sp string) []string { return []string{"ingo." + name + "." + sp + ".>"} })
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.Subjects; len(got) != 1 || got[0] != "ingo."+name+"."+sp+".>" {
			t.Fatalf("subjects %v for space %s", got, sp)
		}
		return st, sp
	}

	_, first := open("a")
	if _, again := open("a"); again != first {
		t.Errorf("opened again with space %s, made with %s", again, first)
	}

	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "b", Subjects: []string{"ingo.b.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "ingo.b.old", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	st, sp := open("b")
	if sp == "" {
		t.Fatal("an older layout got no space")
	}
	if m, err := st.GetLastMsgForSubject(ctx, "ingo.b.old"); err != nil || string(m.Data) != "kept" {
		t.Errorf("the older layout's message: %v, %v", m, err)
	}

	for round := range 5 {
		name := "c" + string(rune('0'+round))
		var spaces [2]string
		var errs [2]error
		var wg sync.WaitGroup
		for i := range spaces {
			wg.Go(func() {
				_, spaces[i], errs[i] = streamspace.Open(ctx, js, jetstream.StreamConfig{Name: name}, "ingo."+name+".",
					func(sp string) []string { return []string{"ingo." + name + "." + sp + ".>"} })
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v, %v", round, errs[0], errs[1])
		}
		if spaces[0] != spaces[1] {
			t.Fatalf("round %d: two spaces, %s and %s", round, spaces[0], spaces[1])
		}
	}
}
