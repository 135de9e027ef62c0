package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kimibot/tools"
)

const objectSchema = `{"type":"object","properties":{"q":{"type":"string"}}}`

func okCall(context.Context, json.RawMessage) (string, error) { return "ok", nil }

func TestRegister_Rejects(t *testing.T) {
	cases := []struct {
		name   string
		tool   string
		schema string
		want   error
	}{
		{"ErrNameTooShort", "ab", objectSchema, tools.ErrInvalidName},
		{"ErrNameLeadingDigit", "1abc", objectSchema, tools.ErrInvalidName},
		{"ErrNameSpace", "look up", objectSchema, tools.ErrInvalidName},
		{"ErrNameBuiltinDollar", "$web_search", objectSchema, tools.ErrInvalidName},
		{"ErrNameTooLong", "a" + strings.Repeat("b", 64), objectSchema, tools.ErrInvalidName},
		{"ErrSchemaNotJSON", "bad_json", `{"type":`, tools.ErrInvalidSchema},
		{"ErrSchemaNotObject", "bad_array", `{"type":"array"}`, tools.ErrInvalidSchema},
		{"ErrSchemaBareList", "bad_list", `[]`, tools.ErrInvalidSchema},
		{"ErrSchemaDoesNotCompile", "bad_kw", `{"type":"object","properties":{"n":{"type":"integer","minimum":"one"}}}`, tools.ErrInvalidSchema},
		{"ErrSchemaBadPattern", "bad_re", `{"type":"object","properties":{"s":{"type":"string","pattern":"("}}}`, tools.ErrInvalidSchema},
		{"ErrSchemaExternalRef", "bad_ref", `{"type":"object","properties":{"s":{"type":"string","$ref":"https://example.com/s.json"}}}`, tools.ErrInvalidSchema},
		{"ErrUntypedProperty", "untyped", `{"type":"object","properties":{"s":{"description":"no type"}}}`, tools.ErrInvalidSchema},
		{"ErrUntypedNestedProperty", "untyped_deep", `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"array","items":{"type":"object","properties":{"c":{"enum":[1,2]}}}}}}}}`, tools.ErrInvalidSchema},
		{"ErrBooleanProperty", "bool_prop", `{"type":"object","properties":{"s":true}}`, tools.ErrInvalidSchema},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tools.NewRegistry(tools.Options{})
			err := r.Register(&funcTool{name: tc.tool, schema: tc.schema, call: okCall})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Register() = %v, want %v", err, tc.want)
			}
			if len(r.Specs()) != 0 {
				t.Fatalf("rejected tool is listed: %+v", r.Specs())
			}
			if _, ok := r.Lookup(tc.tool); ok {
				t.Fatalf("rejected tool %q can be looked up", tc.tool)
			}
		})
	}
}

func TestRegister_Accepts(t *testing.T) {
	r := tools.NewRegistry(tools.Options{})
	for _, name := range []string{"abc", "_x1", "get-weather", "A" + strings.Repeat("z", 63)} {
		if err := r.Register(&funcTool{name: name, schema: objectSchema, call: okCall}); err != nil {
			t.Errorf("Register(%q) = %v", name, err)
		}
	}
	if err := r.Register(nil); err == nil {
		t.Error("Register(nil) succeeded")
	}
}

func TestRegister_Duplicate(t *testing.T) {
	r := MustRegistry(t, tools.Options{}, &funcTool{name: "echo", schema: objectSchema, call: okCall})
	err := r.Register(&funcTool{name: "echo", schema: objectSchema, call: okCall})
	if !errors.Is(err, tools.ErrDuplicateTool) {
		t.Fatalf("second Register() = %v, want ErrDuplicateTool", err)
	}
}

func TestRegister_TooMany(t *testing.T) {
	r := tools.NewRegistry(tools.Options{})
	for i := range tools.MaxTools {
		if err := r.Register(&funcTool{name: fmt.Sprintf("tool_%03d", i), schema: objectSchema, call: okCall}); err != nil {
			t.Fatalf("register tool %d: %v", i, err)
		}
	}
	err := r.Register(&funcTool{name: "one_more", schema: objectSchema, call: okCall})
	if !errors.Is(err, tools.ErrTooManyTools) {
		t.Fatalf("Register() past the limit = %v, want ErrTooManyTools", err)
	}
}

func TestRegister_EmptyParameters(t *testing.T) {
	var rec recorder
	r := MustRegistry(t, tools.Options{}, &funcTool{name: "ping", call: func(_ context.Context, a json.RawMessage) (string, error) {
		rec.record(a)
		return "pong", nil
	}})
	specs := r.Specs()
	if len(specs) != 1 || string(specs[0].Parameters) != `{"type":"object","properties":{}}` {
		t.Fatalf("Specs() = %+v, want the empty object schema", specs)
	}
	if res := r.Run(context.Background(), "ping", ""); res.IsError || res.Content != "pong" {
		t.Fatalf("Run(ping) = %+v", res)
	}
	if got := rec.calls(); len(got) != 1 || got[0] != "{}" {
		t.Fatalf("tool received %q, want [{}]", got)
	}
}

func TestSpecs_SortedAndStable(t *testing.T) {
	r := MustRegistry(t, tools.Options{},
		&funcTool{name: "zeta", schema: objectSchema, call: okCall},
		&funcTool{name: "alpha", schema: " {\n \"type\": \"object\" } ", call: okCall},
		&funcTool{name: "mid_1", schema: objectSchema, call: okCall},
	)
	first := r.Specs()
	var names []string
	for _, s := range first {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "alpha,mid_1,zeta" {
		t.Fatalf("Specs() names = %s, want alpha,mid_1,zeta", got)
	}
	if string(first[0].Parameters) != `{"type":"object"}` {
		t.Fatalf("alpha parameters = %s, want compact schema", first[0].Parameters)
	}
	if first[2].Description != "test tool zeta" {
		t.Fatalf("zeta description = %q", first[2].Description)
	}

	// Mutating a returned spec must not leak into the registry.
	first[0].Parameters[0] = 'X'
	second := r.Specs()
	if string(second[0].Parameters) != `{"type":"object"}` {
		t.Fatalf("Specs() shares its parameter bytes with callers: %s", second[0].Parameters)
	}
}

func TestSetNeedsApproval(t *testing.T) {
	r := MustRegistry(t, tools.Options{},
		&funcTool{name: "refund", schema: objectSchema, call: okCall},
		&funcTool{name: "search", schema: objectSchema, call: okCall},
	)
	approval := func() map[string]bool {
		m := map[string]bool{}
		for _, s := range r.Specs() {
			m[s.Name] = s.NeedsApproval
		}
		return m
	}
	if got := approval(); got["refund"] || got["search"] {
		t.Fatalf("approval before SetNeedsApproval = %v, want none", got)
	}
	if err := r.SetNeedsApproval("refund", true); err != nil {
		t.Fatalf("SetNeedsApproval(refund, true) = %v", err)
	}
	if got := approval(); !got["refund"] || got["search"] {
		t.Fatalf("approval = %v, want refund only", got)
	}
	if err := r.SetNeedsApproval("refund", false); err != nil {
		t.Fatalf("SetNeedsApproval(refund, false) = %v", err)
	}
	if got := approval(); got["refund"] {
		t.Fatalf("approval = %v, want refund cleared", got)
	}
	if err := r.SetNeedsApproval("nope", true); !errors.Is(err, tools.ErrUnknownTool) {
		t.Fatalf("SetNeedsApproval(nope) = %v, want ErrUnknownTool", err)
	}
}

func TestLookup(t *testing.T) {
	echo := &funcTool{name: "echo", schema: objectSchema, call: okCall}
	r := MustRegistry(t, tools.Options{}, echo)
	if got, ok := r.Lookup("echo"); !ok || got != echo {
		t.Fatalf("Lookup(echo) = %v, %v", got, ok)
	}
	if got, ok := r.Lookup("missing"); ok || got != nil {
		t.Fatalf("Lookup(missing) = %v, %v", got, ok)
	}
}

func TestDescribe(t *testing.T) {
	described := &describingTool{
		funcTool: funcTool{name: "weather", schema: objectSchema, call: okCall},
		describe: func(args json.RawMessage) string {
			var a struct{ Q string }
			_ = json.Unmarshal(args, &a)
			if a.Q == "" {
				return ""
			}
			return "checking the weather in " + a.Q
		},
	}
	panicky := &describingTool{
		funcTool: funcTool{name: "fragile", schema: objectSchema, call: okCall},
		describe: func(json.RawMessage) string { panic("describe exploded") },
	}
	plain := &funcTool{name: "plain", schema: objectSchema, call: okCall}
	r := MustRegistry(t, tools.Options{}, described, panicky, plain)

	cases := []struct {
		name, tool, args, want string
	}{
		{"Describer", "weather", `{"q":"Paris"}`, "checking the weather in Paris"},
		{"DescriberEmptyFallsBack", "weather", `{}`, "running weather"},
		{"NoDescriber", "plain", `{"q":"x"}`, "running plain"},
		{"DescriberPanics", "fragile", `{}`, "running fragile"},
		{"UnknownTool", "unknown_tool", `{}`, "running unknown_tool"},
		{"UnsafeName", "<!channel> hi", `{}`, "running a tool"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Describe(tc.tool, tc.args); got != tc.want {
				t.Fatalf("Describe(%q) = %q, want %q", tc.tool, got, tc.want)
			}
		})
	}
}
