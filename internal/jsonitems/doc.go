// Package jsonitems counts the values of a JSON document without decoding
// it, so that a decoder's memory can be bounded before it runs: two bytes
// of JSON ("{}" or "[]") make an empty map or list, which costs
// encoding/json a hundred bytes and more, so a few MiB of them take a
// process gigabytes (messages.MaxFreeFormItems says why ingo bounds them).
package jsonitems
