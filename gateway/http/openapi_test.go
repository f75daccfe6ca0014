package api

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is openapi.json, with a validator for the subset of JSON
// Schema it uses: $ref, type, properties, required, additionalProperties,
// items, enum, nullable, allOf, oneOf.
type openAPIDoc struct {
	raw   map[string]any
	paths map[string]any
}

func loadOpenAPI(t testing.TB) *openAPIDoc {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if raw["openapi"] != "3.0.3" {
		t.Fatalf("openapi.json: version %v", raw["openapi"])
	}
	return &openAPIDoc{raw: raw, paths: raw["paths"].(map[string]any)}
}

func (d *openAPIDoc) component(name string) map[string]any {
	s, _ := d.raw["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	return s
}

// operation returns the documented operation, or nil.
func (d *openAPIDoc) operation(template, method string) map[string]any {
	p, _ := d.paths[template].(map[string]any)
	op, _ := p[strings.ToLower(method)].(map[string]any)
	return op
}

// matchPath finds the documented path template of a request path; literal
// segments win over parameters.
func (d *openAPIDoc) matchPath(path string) (string, bool) {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	best, bestParams := "", math.MaxInt
	for tmpl := range d.paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		params, ok := 0, true
		for i := range ts {
			switch {
			case strings.HasPrefix(ts[i], "{"):
				params++
				ok = ok && segs[i] != ""
			case ts[i] != segs[i]:
				ok = false
			}
		}
		if ok && params < bestParams {
			best, bestParams = tmpl, params
		}
	}
	return best, best != ""
}

// checkResponse says whether an answer is what openapi.json promises.
func (d *openAPIDoc) checkResponse(method, path string, status int, contentType string, body []byte) error {
	tmpl, ok := d.matchPath(path)
	var op map[string]any
	if ok {
		op = d.operation(tmpl, method)
	}
	if op == nil {
		// The router's own answers: JSON 404 (no such path) and 405.
		want := 404
		if ok {
			want = 405
		}
		if status != want {
			return fmt.Errorf("undocumented %s %s answered %d, want %d", method, path, status, want)
		}
		return d.checkBody(d.component("Error"), contentType, body)
	}
	resp, _ := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
	if resp == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, method, tmpl)
	}
	content, _ := resp["content"].(map[string]any)
	if js, ok := content["application/json"].(map[string]any); ok {
		return d.checkBody(js["schema"].(map[string]any), contentType, body)
	}
	if _, ok := content["text/event-stream"]; ok {
		if !strings.HasPrefix(contentType, "text/event-stream") {
			return fmt.Errorf("content type %q, want text/event-stream", contentType)
		}
		return nil
	}
	return fmt.Errorf("response %d of %s %s documents no content", status, method, tmpl)
}

func (d *openAPIDoc) checkBody(schema map[string]any, contentType string, body []byte) error {
	if !strings.HasPrefix(contentType, "application/json") {
		return fmt.Errorf("content type %q, want application/json", contentType)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return d.validate(schema, v, "$")
}

func (d *openAPIDoc) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = d.component(strings.TrimPrefix(ref, "#/components/schemas/"))
		if s == nil {
			panic("openapi.json: dangling $ref " + ref)
		}
	}
}

// validate checks v against schema; at names the place for the error.
func (d *openAPIDoc) validate(schema map[string]any, v any, at string) error {
	s := d.resolve(schema)
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null is not allowed", at)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := d.validate(sub.(map[string]any), v, at); err != nil {
				return err
			}
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range one {
			if d.validate(sub.(map[string]any), v, at) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d of the oneOf schemas, want 1", at, n)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "":
		return nil
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: %T, want a string", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want a boolean", at, v)
		}
	case "number", "integer":
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s: %T, want a %s", at, v, typ)
		}
		if typ == "integer" && f != math.Trunc(f) {
			return fmt.Errorf("%s: %v is not an integer", at, f)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", at, v)
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range list {
			if items != nil {
				if err := d.validate(items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "object":
		return d.validateObject(s, v, at)
	default:
		return fmt.Errorf("%s: the validator does not know type %q", at, typ)
	}
	return nil
}

func (d *openAPIDoc) validateObject(s map[string]any, v any, at string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: %T, want an object", at, v)
	}
	props, _ := s["properties"].(map[string]any)
	for _, r := range asSlice(s["required"]) {
		if _, ok := obj[r.(string)]; !ok {
			return fmt.Errorf("%s: required property %q is missing", at, r)
		}
	}
	for k, x := range obj {
		if p, ok := props[k].(map[string]any); ok {
			if err := d.validate(p, x, at+"."+k); err != nil {
				return err
			}
			continue
		}
		switch extra := s["additionalProperties"].(type) {
		case bool:
			if !extra {
				return fmt.Errorf("%s: property %q is not documented", at, k)
			}
		case map[string]any:
			if err := d.validate(extra, x, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestOpenAPIDocumentsEveryRoute walks the handler's route table: every
// route is documented, and every documented operation is a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	have := map[string]bool{}
	for _, r := range (&Server{}).routes() {
		have[r.method+" "+r.pattern] = true
		if doc.operation(r.pattern, r.method) == nil {
			t.Errorf("route %s %s is not in openapi.json", r.method, r.pattern)
		}
	}
	for tmpl, p := range doc.paths {
		for m := range p.(map[string]any) {
			if m == "parameters" {
				continue
			}
			if !have[strings.ToUpper(m)+" "+tmpl] {
				t.Errorf("openapi.json documents %s %s, which no route serves", strings.ToUpper(m), tmpl)
			}
		}
	}
}

// TestValidatorCatchesMismatches makes sure the checks above can fail.
func TestValidatorCatchesMismatches(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	good := `{"job_id":"j","status":"success","text":"","grade":1,"problems":{},"tests":{},"custom":{},"state":"","archive":null,"stdout":"","stderr":"","usage":null}`
	var v any
	if err := json.Unmarshal([]byte(good), &v); err != nil {
		t.Fatal(err)
	}
	if err := doc.validate(doc.component("Result"), v, "$"); err != nil {
		t.Fatalf("a good result fails: %v", err)
	}
	for name, body := range map[string]string{
		"missing required": `{"job_id":"j"}`,
		"wrong type":       strings.Replace(good, `"grade":1`, `"grade":"1"`, 1),
		"bad enum":         strings.Replace(good, `"success"`, `"great"`, 1),
		"extra property":   strings.Replace(good, `"state":""`, `"state":"","more":1`, 1),
		"null not allowed": strings.Replace(good, `"text":""`, `"text":null`, 1),
		"bad nested":       strings.Replace(good, `"problems":{}`, `"problems":{"q":{"status":"x","text":""}}`, 1),
	} {
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if doc.validate(doc.component("Result"), v, "$") == nil {
			t.Errorf("%s: validator accepts %s", name, body)
		}
	}
	if err := doc.checkResponse("GET", "/api/v1/jobs/x", 418, "application/json", []byte(`{}`)); err == nil {
		t.Error("an undocumented status passes")
	}
	if err := doc.checkResponse("GET", "/api/v1/jobs/x", 200, "application/json", []byte(`{"job_id":"x"}`)); err == nil {
		t.Error("an incomplete job passes")
	}
	if err := doc.checkResponse("GET", "/nowhere", 200, "application/json", []byte(`{}`)); err == nil {
		t.Error("an undocumented path answering 200 passes")
	}
}
