package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// inputData builds INGInious' inputdata: a string, a list of strings
// (several values of one problem), or a file {"filename", "value": bytes},
// as `ingo submit` and the INGInious webapp send them; keys starting with
// '@' take any JSON value.
func inputData(in map[string]json.RawMessage, files map[string]map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in)+len(files)+6)
	for pid, raw := range in {
		v, err := inputValue(raw)
		if err != nil && strings.HasPrefix(pid, "@") {
			// @-keys are metadata for graders (and "@fake" for the fake
			// runtime): any JSON value goes through as it is.
			err = json.Unmarshal(raw, &v)
		}
		if err != nil {
			return nil, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("inputs.%s: %v", pid, err))
		}
		out[pid] = v
	}
	for pid, f := range files {
		if _, dup := out[pid]; dup {
			return nil, errf(http.StatusBadRequest, "bad_input", fmt.Sprintf("problem %q has an answer in inputs and a file part", pid))
		}
		out[pid] = f
	}
	return out, nil
}

func inputValue(raw json.RawMessage) (any, error) {
	const form = `must be a string, a list of strings or {"filename": ..., "content": base64}`
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && list != nil {
		out := make([]any, len(list))
		for i, v := range list {
			out[i] = v
		}
		return out, nil
	}
	// Content decodes from base64 straight into bytes: a large file is
	// not copied once more as a string.
	var file struct {
		Filename *string `json:"filename"`
		Content  []byte  `json:"content"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(&file)
	var notBase64 base64.CorruptInputError
	switch {
	case errors.As(err, &notBase64):
		return nil, fmt.Errorf("content is not base64: %w", err)
	case err != nil || file.Filename == nil || file.Content == nil:
		return nil, errors.New(form)
	}
	return map[string]any{"filename": *file.Filename, "value": file.Content}, nil
}
