package mcq

import (
	"archive/tar"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// catalog translates task.yaml's texts into the job's language; the zero
// catalog leaves them as they are.
type catalog map[string]string

// gettext is Python's gettext of a text of task.yaml: its translation, or
// itself; "" for an empty one. A text that is not one (a number written
// in YAML) is shown as Python would.
func (c catalog) gettext(v any) string {
	s, ok := v.(string)
	if !ok {
		s = pyStr(v)
	}
	if s == "" {
		return ""
	}
	if t, ok := c[s]; ok {
		return t
	}
	return s
}

// i18nDirs are where INGInious' MCQ agent looks for a task's catalogs, in
// a bundle (the task folder at its root, the course's common folder in
// $common): the first that exists decides, whether or not it has one for
// the language.
var i18nDirs = []string{"$i18n/", "student/$i18n/", "$common/$i18n/", "$common/student/$i18n/"}

// maxCatalogBytes bounds a catalog read: a course's .mo is a few KiB
// (and a catalog of entries 8 bytes each is 128Ki entries at this bound).
const maxCatalogBytes = 1 << 20

// maxScanBytes and maxScanEntries bound what finding a catalog reads of a
// bundle: what a task folder may hold (internal/bundle's DefaultMaxBytes
// and DefaultMaxFiles). Each entry is decompressed to reach the next, and
// a frontend's bundle of a few hundred KiB may hold GiBs of zeros, read
// by every quiz naming a language, up to messages.InstantSlots at once.
const (
	maxScanBytes   = 64 << 20
	maxScanEntries = 10000
)

// bundleCatalog reads the catalog of lang from a task bundle (.tar.gz),
// or returns none when the bundle has none for it.
func bundleCatalog(archive io.Reader, lang string) (catalog, error) {
	if lang == "" || strings.ContainsAny(lang, "/\\\x00") || lang == "." || lang == ".." {
		return nil, nil
	}
	zr, err := gzip.NewReader(archive)
	if err != nil {
		return nil, fmt.Errorf("task bundle: %w", err)
	}
	defer zr.Close()
	exists := make([]bool, len(i18nDirs))
	found := make([][]byte, len(i18nDirs))
	tr := tar.NewReader(zr)
	var scanned int64
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("task bundle: %w", err)
		}
		if scanned += max(h.Size, 0); scanned > maxScanBytes || entries >= maxScanEntries {
			return nil, fmt.Errorf("task bundle: more than %d files or %d bytes", maxScanEntries, maxScanBytes)
		}
		name := strings.TrimPrefix(h.Name, "./")
		for i, dir := range i18nDirs {
			if !strings.HasPrefix(name+"/", dir) {
				continue
			}
			exists[i] = true
			if name == dir+lang+".mo" && h.Typeflag == tar.TypeReg {
				if h.Size > maxCatalogBytes {
					return nil, fmt.Errorf("%s: a catalog of %d bytes, over %d", name, h.Size, maxCatalogBytes)
				}
				if found[i], err = io.ReadAll(tr); err != nil {
					return nil, fmt.Errorf("task bundle: %w", err)
				}
			}
		}
	}
	for i := range i18nDirs {
		if exists[i] {
			if found[i] == nil {
				return nil, nil
			}
			c, err := parseMO(found[i])
			if err != nil {
				return nil, fmt.Errorf("%s%s.mo: %w", i18nDirs[i], lang, err)
			}
			return c, nil
		}
	}
	return nil, nil
}

// parseMO reads a GNU gettext catalog (.mo), as Python's GNUTranslations
// does for gettext: singular entries only (a plural one is keyed by its
// two forms together, which no singular text matches), in the charset its
// header names (UTF-8 unless it says ISO-8859-1 or latin-1).
func parseMO(b []byte) (catalog, error) {
	if len(b) < 20 {
		return nil, errors.New("not a gettext catalog (too short)")
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0x950412de:
		order = binary.LittleEndian
	case 0xde120495:
		order = binary.BigEndian
	default:
		return nil, errors.New("not a gettext catalog (bad magic number)")
	}
	if major := order.Uint32(b[4:]) >> 16; major > 1 {
		return nil, fmt.Errorf("gettext catalog of unknown major version %d", major)
	}
	n, origs, trans := order.Uint32(b[8:]), order.Uint32(b[12:]), order.Uint32(b[16:])
	// Keys and values are substrings of one copy of the file: entries may
	// point at the same bytes, and copying each would let a catalog of a
	// few hundred KiB take GiBs (a review turned 279 KB into 598 MiB).
	text := string(b)
	at := func(table, i uint32) (string, error) {
		off := uint64(table) + 8*uint64(i)
		if off+8 > uint64(len(b)) {
			return "", errors.New("gettext catalog cut short")
		}
		l, o := uint64(order.Uint32(b[off:])), uint64(order.Uint32(b[off+4:]))
		if o+l > uint64(len(b)) {
			return "", errors.New("gettext catalog cut short")
		}
		return text[o : o+l], nil
	}
	if uint64(n)*8 > uint64(len(b)) {
		return nil, errors.New("gettext catalog cut short")
	}
	c := make(catalog, n)
	latin1 := false
	for i := range n {
		msg, err := at(origs, i)
		if err != nil {
			return nil, err
		}
		tmsg, err := at(trans, i)
		if err != nil {
			return nil, err
		}
		if len(msg) == 0 {
			header := strings.ToLower(tmsg)
			latin1 = strings.Contains(header, "charset=iso-8859-1") || strings.Contains(header, "charset=latin-1") ||
				strings.Contains(header, "charset=latin1")
			continue
		}
		if strings.IndexByte(msg, 0) >= 0 {
			continue // a plural entry
		}
		c[msg] = tmsg
	}
	if latin1 {
		// Decoding copies each entry, and entries may overlap: the
		// copies are bounded by what a file of distinct entries takes
		// (a byte of ISO-8859-1 is at most two of UTF-8).
		out := make(catalog, len(c))
		budget := 2 * len(b)
		for k, v := range c {
			if budget -= 2*len(k) + 2*len(v); budget < 0 {
				return nil, errors.New("gettext catalog whose entries overlap beyond its size")
			}
			out[fromLatin1(k)] = fromLatin1(v)
		}
		c = out
	}
	return c, nil
}

// fromLatin1 decodes ISO-8859-1, whose every byte is the code point of
// the same number.
func fromLatin1(s string) string {
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = rune(s[i])
	}
	return string(r)
}
