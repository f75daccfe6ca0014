package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// decodeJSON reads exactly one JSON value, refusing unknown fields, and
// turns decoding errors into messages that name the field.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
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
