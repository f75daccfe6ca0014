// Package heapsize estimates what a decoded free-form value (a job's
// input data or task problems: maps, lists, strings, numbers, as CBOR,
// msgpack or JSON decoders build them) holds in memory, so that a process
// bounds what it keeps by what it costs rather than by the bytes it came
// in: three bytes of msgpack make a map of one key holding a map, some
// 300 bytes decoded.
package heapsize
