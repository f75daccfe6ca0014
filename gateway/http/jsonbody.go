package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ingo-grader/ingo/internal/jsonitems"
	"github.com/ingo-grader/ingo/messages"
)

// maxJobValues bounds the JSON values of a job's body: its inputs'
// (messages.MaxFreeFormItems, as the backend takes them) and the fields
// around them.
const maxJobValues = messages.MaxFreeFormItems + 1024

// decodeJSON reads exactly one JSON value (a job), refusing unknown
// fields, and turns decoding errors into messages that name the field.
// Its values are counted as the decoder reads them (countingReader),
// which it does to the value's end before it decodes any: two bytes of
// JSON make an empty map, which costs the decoder a hundred bytes and
// more.
//
// admit, when not nil, is given the count once the value is read, before
// anything is decoded: the values then cost the decoder far more than
// their bytes, which the upload budget counts (Server.admitValues).
func decodeJSON(r io.Reader, v any, admit func(values int) error) error {
	dec := json.NewDecoder(&countingReader{r: r, c: jsonitems.Counter{Max: maxJobValues}, admit: admit})
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return errf(http.StatusBadRequest, "invalid_json", "the body holds more than one JSON value")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var tooBig *http.MaxBytesError
	var he *httpError
	switch {
	case errors.As(err, &tooBig), errors.As(err, &he):
		return err
	case errors.As(err, &typeErr):
		what := "the body"
		if typeErr.Field != "" {
			what = fmt.Sprintf("field %q", typeErr.Field)
		}
		return errf(http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("%s must be %s, not %s", what, jsonKind(typeErr.Type.Kind().String()), withArticle(typeErr.Value)))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errf(http.StatusBadRequest, "invalid_json", "the body is not valid JSON: "+err.Error())
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return errf(http.StatusBadRequest, "unknown_field", strings.TrimPrefix(err.Error(), "json: ")+"; see docs/api.md for the fields")
	}
	return errf(http.StatusBadRequest, "invalid_json", err.Error())
}

// jsonKind names the JSON a Go kind takes, with its article.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	}
	return "a number"
}

func withArticle(jsonValue string) string {
	if jsonValue != "" && strings.ContainsRune("aeiou", rune(jsonValue[0])) {
		return "an " + jsonValue
	}
	return "a " + jsonValue
}

// countingReader counts the JSON values of what it reads, and fails once
// they are more than maxJobValues.
type countingReader struct {
	r        io.Reader
	c        jsonitems.Counter
	admit    func(values int) error
	admitted bool
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if !cr.c.Write(p[:n]) {
		return 0, errf(http.StatusBadRequest, "invalid_job", fmt.Sprintf(
			"the job holds more than %d JSON values; its inputs may hold %d; see docs/api.md", maxJobValues, messages.MaxFreeFormItems))
	}
	// The read that ends the body's value is the decoder's last before
	// it decodes: admitted here, the values are paid for before they
	// are built.
	if cr.admit != nil && !cr.admitted && (cr.c.Closed() || err == io.EOF) {
		cr.admitted = true
		if aerr := cr.admit(cr.c.N()); aerr != nil {
			return 0, aerr
		}
	}
	return n, err
}
