package api

import (
	"bytes"
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
// Its values are counted first: two bytes of JSON make an empty map,
// which costs the decoder a hundred bytes and more.
//
// admit, when not nil, is given the count before anything is decoded:
// the values then cost the decoder far more than their bytes, which the
// upload budget counts (Server.admitValues).
func decodeJSON(r io.Reader, v any, admit func(values int) error) error {
	data, err := io.ReadAll(r)
	if err == nil {
		n := jsonitems.Count(data, maxJobValues)
		if n > maxJobValues {
			return errf(http.StatusBadRequest, "invalid_job", fmt.Sprintf(
				"the job holds more than %d JSON values; its inputs may hold %d; see docs/api.md", maxJobValues, messages.MaxFreeFormItems))
		}
		if admit != nil {
			if err := admit(n); err != nil {
				return err
			}
		}
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err = dec.Decode(v); err == nil {
			if _, extra := dec.Token(); extra != io.EOF {
				return errf(http.StatusBadRequest, "invalid_json", "the body holds more than one JSON value")
			}
			return nil
		}
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
