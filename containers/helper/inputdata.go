package helper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// writeInputData writes INGInious' /.__input/__inputdata.json (at
// p.InputData; the images link /.__input there): the start message
// INGInious' agent sends its container, which its in-container script
// writes out as it is, uploaded files' values replaced by the paths of
// their files. Run files written for INGInious open it themselves (the
// `inginious` Python package reads /.ingo/input.json instead). uploads are
// the files materialiseUploads wrote, by problem id (their content is not
// decoded a second time); an upload it could not write keeps its base64
// value.
func writeInputData(p Paths, in *Input, uploads map[string]writtenUpload) error {
	inputs := make(map[string]json.RawMessage, len(in.Input))
	for pid, raw := range in.Input {
		inputs[pid] = raw
		u, ok := uploads[pid]
		if !ok {
			continue
		}
		v, err := json.Marshal(map[string]string{"filename": u.Filename, "value": u.Path})
		if err != nil {
			return fmt.Errorf("writing %s: %w", p.InputData, err)
		}
		inputs[pid] = v
	}
	start := map[string]any{
		"type":  "start",
		"input": inputs,
		// INGInious' debug is false, true or "ssh".
		"debug":       map[string]any{"": false, "debug": true, "ssh": "ssh"}[in.Debug],
		"envtypes":    map[string]bool{"docker": true, "docker-ssh": true},
		"run_as_root": false,
	}
	if in.RunCmd != "" {
		start["run_cmd"] = in.RunCmd
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as Python's json.dumps
	if err := enc.Encode(start); err != nil {
		return fmt.Errorf("writing %s: %w", p.InputData, err)
	}
	if err := os.MkdirAll(filepath.Dir(p.InputData), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", p.InputData, err)
	}
	if err := os.WriteFile(p.InputData, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p.InputData, err)
	}
	return nil
}
