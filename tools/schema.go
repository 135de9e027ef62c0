package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// emptyParameters is the schema used for a tool that declares none.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// Limits on the validation detail shown to the model.
const (
	maxSchemaProblems  = 3
	maxProblemMsgBytes = 200
)

// compileSchema checks a tool's parameter schema and compiles it once. It
// returns the compiled schema and the compact JSON to publish in Specs.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = emptyParameters
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: parse: %v", ErrInvalidSchema, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok || obj["type"] != "object" {
		return nil, nil, fmt.Errorf("%w: must be an object schema with \"type\": \"object\"", ErrInvalidSchema)
	}
	if err := checkPropertyTypes(obj, ""); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}

	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	loc := "mem:///tools/" + name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	schema, err := c.Compile(loc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}

	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, nil, fmt.Errorf("%w: compact: %v", ErrInvalidSchema, err)
	}
	return schema, compact.Bytes(), nil
}

// checkPropertyTypes rejects property schemas without "type" at any depth:
// Kimi refuses tool declarations that contain them.
func checkPropertyTypes(schema map[string]any, path string) error {
	if props, ok := schema["properties"].(map[string]any); ok {
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/properties/" + k
			sub, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s must be a schema object", p)
			}
			if _, ok := sub["type"]; !ok {
				return fmt.Errorf("%s has no \"type\"", p)
			}
			if err := checkPropertyTypes(sub, p); err != nil {
				return err
			}
		}
	}
	for _, kw := range []string{"items", "additionalProperties"} {
		if sub, ok := schema[kw].(map[string]any); ok {
			if err := checkPropertyTypes(sub, path+"/"+kw); err != nil {
				return err
			}
		}
	}
	return nil
}

// noLoader refuses external references: tool schemas must be self-contained.
type noLoader struct{}

// Load implements jsonschema.URLLoader.
func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema %s not allowed", url)
}

// parseArguments decodes the model's argument text and validates it. Empty
// or blank text means {}. On failure it returns a short explanation the
// model can act on.
func parseArguments(schema *jsonschema.Schema, args string) (json.RawMessage, string) {
	text := strings.TrimSpace(args)
	if text == "" {
		text = "{}"
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, "arguments are not valid JSON (" + clipMessage(err.Error()) + ")"
	}
	if err := schema.Validate(doc); err != nil {
		return nil, describeValidation(err)
	}
	canonical, err := encodeArguments(doc)
	if err != nil {
		return nil, "arguments could not be re-encoded (" + clipMessage(err.Error()) + ")"
	}
	return canonical, ""
}

// encodeArguments re-encodes the validated document, so the tool decodes
// exactly what was validated: one value per key, no stray whitespace.
func encodeArguments(doc any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// describeValidation turns a validation error into at most a few
// "at /path: problem" statements, sorted so the text is stable.
func describeValidation(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return clipMessage(err.Error())
	}
	var problems []string
	collectProblems(ve, &problems)
	if len(problems) == 0 {
		return "arguments do not match the schema"
	}
	slices.Sort(problems)
	if len(problems) > maxSchemaProblems {
		extra := len(problems) - maxSchemaProblems
		problems = append(problems[:maxSchemaProblems], fmt.Sprintf("and %d more", extra))
	}
	return strings.Join(problems, "; ")
}

// collectProblems gathers the leaf errors of a validation error tree, each
// once, in order.
func collectProblems(ve *jsonschema.ValidationError, out *[]string) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectProblems(c, out)
		}
		return
	}
	p := "at " + instancePointer(ve.InstanceLocation) + ": " + clipMessage(problemText(ve))
	if !slices.Contains(*out, p) {
		*out = append(*out, p)
	}
}

// problemText states one leaf error, phrasing type errors as
// "expected X, got Y".
func problemText(ve *jsonschema.ValidationError) string {
	if t, ok := ve.ErrorKind.(*kind.Type); ok {
		return "expected " + strings.Join(t.Want, " or ") + ", got " + t.Got
	}
	if out := ve.BasicOutput(); out.Error != nil {
		return out.Error.String()
	}
	return "invalid value"
}

// instancePointer renders a JSON pointer; the document itself is "(root)".
func instancePointer(tokens []string) string {
	if len(tokens) == 0 {
		return "(root)"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// clipMessage shortens one message so an echoed value cannot flood the reply.
func clipMessage(s string) string {
	if len(s) <= maxProblemMsgBytes {
		return s
	}
	cut := maxProblemMsgBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
