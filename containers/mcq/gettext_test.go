package mcq

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
)

// tgz is a task bundle of these files (and their folders).
func tgz(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBundleCatalog: the first of INGInious' four folders that exists
// decides, even without a catalog of the language.
func TestBundleCatalog(t *testing.T) {
	t.Parallel()
	mo := func(s string) []byte { return testutil.GettextMO(map[string]string{"Hello": s}) }
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		lang  string
		want  string // the translation of Hello; "" for none
	}{
		{"task", map[string][]byte{"$i18n/fr.mo": mo("Bonjour (tâche)"), "$common/$i18n/fr.mo": mo("Bonjour (cours)")}, "fr", "Bonjour (tâche)"},
		{"task's student folder", map[string][]byte{"student/$i18n/fr.mo": mo("Bonjour (étudiant)"), "$common/$i18n/fr.mo": mo("x")}, "fr", "Bonjour (étudiant)"},
		{"course", map[string][]byte{"run": nil, "$common/$i18n/fr.mo": mo("Bonjour (cours)")}, "fr", "Bonjour (cours)"},
		{"course's student folder", map[string][]byte{"$common/student/$i18n/fr.mo": mo("Bonjour (commun)")}, "fr", "Bonjour (commun)"},
		{"the task's folder decides", map[string][]byte{"$i18n/de.mo": mo("Hallo"), "$common/$i18n/fr.mo": mo("Bonjour (cours)")}, "fr", ""},
		{"no such language", map[string][]byte{"$i18n/fr.mo": mo("Bonjour")}, "nl", ""},
		{"no language", map[string][]byte{"$i18n/.mo": mo("Bonjour")}, "", ""},
		{"a path is no language", map[string][]byte{"$i18n/fr.mo": mo("Bonjour")}, "../$i18n/fr", ""},
		{"no catalogs", map[string][]byte{"run": []byte("#!/bin/sh\n")}, "fr", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := bundleCatalog(bytes.NewReader(tgz(t, tc.files)), tc.lang)
			if err != nil {
				t.Fatal(err)
			}
			if got := c["Hello"]; got != tc.want {
				t.Errorf("Hello = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := bundleCatalog(bytes.NewReader(tgz(t, map[string][]byte{"$i18n/fr.mo": []byte("not a catalog at all")})), "fr"); err == nil {
		t.Error("a broken catalog was read")
	}
	if _, err := bundleCatalog(bytes.NewReader([]byte("not gzip")), "fr"); err == nil {
		t.Error("a broken bundle was read")
	}
}

func TestParseMO(t *testing.T) {
	t.Parallel()
	le := testutil.GettextMO(map[string]string{"": "Content-Type: text/plain; charset=UTF-8\n", "Yes": "Oui", "Plural\x00Plurals": "Pluriel\x00Pluriels"})
	c, err := parseMO(le)
	if err != nil || c["Yes"] != "Oui" || len(c) != 1 {
		t.Errorf("little-endian: %q, %v", c, err)
	}

	// The same catalog big-endian: every 32-bit word of the header and
	// the tables swapped.
	be := bytes.Clone(le)
	n := binary.LittleEndian.Uint32(le[8:])
	for off := 0; off < 28+16*int(n); off += 4 {
		binary.BigEndian.PutUint32(be[off:], binary.LittleEndian.Uint32(le[off:]))
	}
	if c, err := parseMO(be); err != nil || c["Yes"] != "Oui" {
		t.Errorf("big-endian: %q, %v", c, err)
	}

	latin := testutil.GettextMO(map[string]string{"": "Content-Type: text/plain; charset=ISO-8859-1\n", "Yes": "Ol\xe1"})
	if c, err := parseMO(latin); err != nil || c["Yes"] != "Olá" {
		t.Errorf("ISO-8859-1: %q, %v", c, err)
	}

	for name, bad := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte{1, 2, 3, 4}, le[4:]...),
		"cut short": le[:40],
		"version":   append(append(bytes.Clone(le[:4]), 0, 0, 9, 0), le[8:]...),
		"huge count": func() []byte {
			b := bytes.Clone(le)
			binary.LittleEndian.PutUint32(b[8:], 1<<30)
			return b
		}(),
	} {
		if _, err := parseMO(bad); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}

// FuzzParseMO: whatever a task's .mo holds, reading it ends in a catalog
// or an error.
func FuzzParseMO(f *testing.F) {
	f.Add(testutil.GettextMO(map[string]string{"": "charset=latin1", "a": "b"}))
	f.Add([]byte{0xde, 0x12, 0x04, 0x95, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseMO(b)
	})
}

// TestParseMOEntriesThatOverlap: entries of a catalog may all point at
// the same bytes; reading it must not copy them for each (a review turned
// a 279 KB catalog into 598 MiB).
func TestParseMOEntriesThatOverlap(t *testing.T) {
	const entries, valueBytes = 10000, 90 << 10
	header := 28
	tables := 16 * entries
	b := make([]byte, header+tables+valueBytes+entries)
	binary.LittleEndian.PutUint32(b[0:], 0x950412de)
	binary.LittleEndian.PutUint32(b[8:], entries)
	binary.LittleEndian.PutUint32(b[12:], uint32(header))
	binary.LittleEndian.PutUint32(b[16:], uint32(header+8*entries))
	value := header + tables
	keys := value + valueBytes
	for i := range valueBytes {
		b[value+i] = 'v'
	}
	for i := range entries {
		// Key i: one byte of its own (distinct keys need distinct
		// bytes); value: the same 90 KiB for all.
		b[keys+i] = byte('a' + i%26)
		binary.LittleEndian.PutUint32(b[header+8*i:], uint32(min(i+1, 26)))
		binary.LittleEndian.PutUint32(b[header+8*i+4:], uint32(keys+i-min(i, 25)))
		binary.LittleEndian.PutUint32(b[header+8*entries+8*i:], valueBytes)
		binary.LittleEndian.PutUint32(b[header+8*entries+8*i+4:], uint32(value))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c, err := parseMO(b)
	runtime.ReadMemStats(&after)
	if err != nil || len(c) == 0 {
		t.Fatalf("%d entries, %v", len(c), err)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 16<<20 {
		t.Errorf("reading a catalog of %d KiB allocated %d MiB", len(b)>>10, allocated>>20)
	}
}
