package messages_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ingo-grader/ingo/messages"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func goldenPath(m messages.Message) string {
	return filepath.Join("testdata", m.MessageName()+".cbor")
}

// TestSamplesCoverRegistry keeps samples() in step with the registry: a new
// message type without a sample (and so without a golden file) fails here.
func TestSamplesCoverRegistry(t *testing.T) {
	all, got := messages.All(), samples()
	if len(got) != len(all) {
		t.Fatalf("samples() has %d messages, the registry %d", len(got), len(all))
	}
	for i := range all {
		if reflect.TypeOf(got[i]) != reflect.TypeOf(all[i]) {
			t.Errorf("sample %d is %T, the registry has %T there", i, got[i], all[i])
		}
	}
}

// TestGolden pins the wire form: a change to a struct, a tag or the codec
// options that changes bytes shows here, and must be deliberate (rerun with
// -update and review the diff) because peers of other versions read them.
func TestGolden(t *testing.T) {
	for _, m := range samples() {
		t.Run(m.MessageName(), func(t *testing.T) {
			got, err := messages.Encode(m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			path := goldenPath(m)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./messages -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from %s:\n got %x\nwant %x", path, got, want)
			}
		})
	}
}

// TestGoldenDecode reads the files, not fresh encodings, so that bytes
// written by an earlier version keep decoding to the same values.
func TestGoldenDecode(t *testing.T) {
	for _, want := range samples() {
		t.Run(want.MessageName(), func(t *testing.T) {
			data, err := os.ReadFile(goldenPath(want))
			if err != nil {
				t.Fatal(err)
			}
			got, err := messages.Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, want)
			}
		})
	}
}

// TestGoldenNoStrayFiles catches a golden file left behind by a renamed type.
func TestGoldenNoStrayFiles(t *testing.T) {
	known := map[string]bool{}
	for _, m := range messages.All() {
		known[goldenPath(m)] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.cbor"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !known[f] {
			t.Errorf("%s matches no message type", f)
		}
	}
}
