package testutil

import (
	"bytes"
	"encoding/binary"
	"sort"
)

// GettextMO is a GNU gettext catalog (.mo) with these translations, as msgfmt
// writes it: little-endian, originals sorted, no hash table.
func GettextMO(translations map[string]string) []byte {
	keys := make([]string, 0, len(translations))
	for k := range translations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := uint32(len(keys))
	const header = 28
	origTable, transTable := uint32(header), uint32(header)+8*n
	strings0 := transTable + 8*n
	var table, data bytes.Buffer
	offset := strings0
	add := func(s string) {
		_ = binary.Write(&table, binary.LittleEndian, [2]uint32{uint32(len(s)), offset})
		data.WriteString(s)
		data.WriteByte(0)
		offset += uint32(len(s)) + 1
	}
	for _, k := range keys {
		add(k)
	}
	for _, k := range keys {
		add(translations[k])
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, [7]uint32{0x950412de, 0, n, origTable, transTable, 0, 0})
	b.Write(table.Bytes())
	b.Write(data.Bytes())
	return b.Bytes()
}
