package tools_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"kimibot/tools"
)

// richSchema exercises most keywords a tool schema uses.
const richSchema = `{
	"type": "object",
	"properties": {
		"query": {"type": "string", "minLength": 1, "maxLength": 200},
		"limit": {"type": "integer", "minimum": 1, "maximum": 50},
		"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
		"filter": {
			"type": "object",
			"properties": {
				"status": {"type": "string", "enum": ["open", "closed"]},
				"since": {"type": "string"}
			},
			"additionalProperties": false
		},
		"exact": {"type": "boolean"},
		"score": {"type": ["number", "null"]}
	},
	"required": ["query"],
	"additionalProperties": false
}`

// lookupOrderSchema restates lookup_order's published schema for the oracle.
const lookupOrderSchema = `{"type":"object","properties":{"order_id":{"type":"string","pattern":"^[A-Za-z0-9-]{1,64}$"}},"required":["order_id"],"additionalProperties":false}`

// oracle decides, independently of the registry, whether args satisfy a
// schema under the contract "blank means {}".
type oracle struct{ schema *jsonschema.Schema }

func newOracle(tb testing.TB, schema string) oracle {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("oracle.json", doc); err != nil {
		tb.Fatal(err)
	}
	return oracle{schema: c.MustCompile("oracle.json")}
}

func (o oracle) valid(args string) bool {
	text := strings.TrimSpace(args)
	if text == "" {
		text = "{}"
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	return err == nil && o.schema.Validate(doc) == nil
}

func FuzzRunArguments(f *testing.F) {
	seeds := []string{
		``, ` `, "\n\t", `{}`, `null`, `[]`, `[{"query":"x"}]`, `0`, `-1.5e300`, `"query"`, `true`,
		`{"query":"where is my order"}`,
		`{"query":"tea","limit":10,"tags":["green","loose"],"filter":{"status":"open"},"exact":false,"score":null}`,
		`{"query":"tea","limit":10.0}`, `{"query":"tea","limit":1e1}`, `{"query":"tea","limit":51}`,
		`{"query":""}`, `{"query":"x","filter":{"status":"pending"}}`, `{"query":"x","filter":{"extra":1}}`,
		`{"query":"x","tags":["a","b","c","d","e","f"]}`, `{"query":"x","query":5}`, `{"query":5,"query":"x"}`, `{"order_id":5,"order_id":"A1001"}`,
		`{"query":"配送状況を教えて 🍵"}`, `{"query":"\ud83c"}`, `{"query":"a\u0000b"}`,
		`{"order_id":"A1001"}`, `{"order_id":"A1001"`, `{"order_id":"A10`, `{"order_id": 1001}`,
		`{"order_id":"A1001","note":"rush"}`, `{"order_id":""}`, `{"order_id":"A 1001"}`,
		`{"order_id":"A1001"} {"order_id":"A1002"}`, "```json\n{\"order_id\":\"A1001\"}\n```",
		`{'order_id': 'A1001'}`, `{"order_id":"A1001",}`, `{"a":{"b":{"c":{"d":[[[[{}]]]]}}}}`,
		"\xff\xfe{}", `{"order_id":"` + strings.Repeat("9", 65) + `"}`,
	}
	for _, s := range seeds {
		f.Add(true, s)
		f.Add(false, s)
	}

	var richCalls atomic.Int64
	rich := &funcTool{name: "search_docs", schema: richSchema, call: func(context.Context, json.RawMessage) (string, error) {
		richCalls.Add(1)
		return "3 documents", nil
	}}
	r := MustRegistry(f, tools.Options{}, rich, MustLookupOrder(f, tools.OrdersConfig{File: sampleOrdersFile}))
	richOracle, orderOracle := newOracle(f, richSchema), newOracle(f, lookupOrderSchema)

	f.Fuzz(func(t *testing.T, orders bool, args string) {
		name, o := rich.name, richOracle
		if orders {
			name, o = tools.LookupOrderName, orderOracle
		}
		before := richCalls.Load()
		res := r.Run(context.Background(), name, args)
		invalidArgs := strings.HasPrefix(res.Content, "error: invalid arguments for "+name+": ")
		if o.valid(args) {
			if res.IsError {
				t.Fatalf("valid args %q rejected: %q", args, res.Content)
			}
		} else if !res.IsError || !invalidArgs {
			t.Fatalf("invalid args %q accepted: %+v", args, res)
		}
		if !orders {
			called := richCalls.Load() > before
			if called != !res.IsError {
				t.Fatalf("args %q: tool called = %v, result %+v", args, called, res)
			}
		}
	})
}
