package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kimibot/tools"
	"kimibot/tools/orderstest"
)

const (
	ordersToken       = "orders-token-7f3a9c"
	sampleOrdersFile  = "../deploy/sample-orders.json"
	unavailableSuffix = "the orders service is unavailable"
)

func testOrders() []map[string]any {
	return []map[string]any{
		{"id": "A1001", "status": "shipped", "total": 47.9, "currency": "EUR",
			"carrier": "DHL", "tracking_number": "JD014600006281234567",
			"items": []any{map[string]any{"sku": "MUG-CER-350", "qty": 2, "price": 14.5}}},
		{"id": "B-77", "status": "processing", "total": 12, "currency": "USD", "carrier": nil},
	}
}

// newAPIRegistry returns a registry whose lookup_order talks to srv.
func newAPIRegistry(t *testing.T, srv *orderstest.Server, token string) *tools.Registry {
	t.Helper()
	return MustRegistry(t, tools.Options{}, MustLookupOrder(t, tools.OrdersConfig{APIURL: srv.URL(), APIToken: token}))
}

// MustJSONEqual fails unless got and want are the same JSON value.
func MustJSONEqual(tb testing.TB, got, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		tb.Fatalf("result is not JSON: %v: %q", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("got %s, want %s", got, want)
	}
}

func TestLookupOrder_API(t *testing.T) {
	a1001, _ := json.Marshal(testOrders()[0])
	cases := []struct {
		name     string
		fail     int
		token    string
		args     string
		wantErr  bool
		wantJSON string
		contains string
	}{
		{"OK", 0, ordersToken, `{"order_id":"A1001"}`, false, string(a1001), ""},
		{"NotFound", 0, ordersToken, `{"order_id":"Z9999"}`, false, `{"error":"not_found","order_id":"Z9999"}`, ""},
		{"ErrWrongToken", 0, "wrong-token-123", `{"order_id":"A1001"}`, true, "", "rejected the bot's credentials"},
		{"ErrNoToken", 0, "", `{"order_id":"A1001"}`, true, "", "rejected the bot's credentials"},
		{"ErrForbidden", http.StatusForbidden, ordersToken, `{"order_id":"A1001"}`, true, "", "rejected the bot's credentials"},
		{"Err500", http.StatusInternalServerError, ordersToken, `{"order_id":"A1001"}`, true, "", unavailableSuffix},
		{"Err503", http.StatusServiceUnavailable, ordersToken, `{"order_id":"A1001"}`, true, "", unavailableSuffix},
		{"Err429", http.StatusTooManyRequests, ordersToken, `{"order_id":"A1001"}`, true, "", unavailableSuffix},
		{"Err400", http.StatusBadRequest, ordersToken, `{"order_id":"A1001"}`, true, "", "rejected the request (HTTP 400)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := orderstest.New(t, ordersToken, testOrders()...)
			if tc.fail != 0 {
				srv.FailNext(tc.fail)
			}
			res := newAPIRegistry(t, srv, tc.token).Run(context.Background(), tools.LookupOrderName, tc.args)
			if res.IsError != tc.wantErr {
				t.Fatalf("Run() = %+v, want IsError=%v", res, tc.wantErr)
			}
			if tc.wantJSON != "" {
				MustJSONEqual(t, res.Content, tc.wantJSON)
			}
			if !strings.Contains(res.Content, tc.contains) {
				t.Fatalf("Run() content = %q, want it to contain %q", res.Content, tc.contains)
			}
			for _, secret := range []string{ordersToken, tc.token} {
				if secret != "" && strings.Contains(res.Content, secret) {
					t.Fatalf("result echoes a token: %q", res.Content)
				}
			}
			if got := len(srv.Requests()); got != 1 {
				t.Fatalf("server saw %d requests, want 1", got)
			}
		})
	}
}

func TestLookupOrder_APIRequest(t *testing.T) {
	srv := orderstest.New(t, ordersToken, testOrders()...)
	tool := MustLookupOrder(t, tools.OrdersConfig{APIURL: srv.URL() + "/", APIToken: ordersToken})
	if _, err := tool.Call(context.Background(), json.RawMessage(`{"order_id":"B-77"}`)); err != nil {
		t.Fatalf("Call() = %v", err)
	}
	// Arguments normally pass the schema first; the path is escaped anyway.
	if _, err := tool.Call(context.Background(), json.RawMessage(`{"order_id":"A 1/../x?y"}`)); err != nil {
		t.Fatalf("Call() with odd id = %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	want := []string{"/orders/B-77", "/orders/A%201%2F..%2Fx%3Fy"}
	for i, r := range reqs {
		if r.Method != http.MethodGet || r.Path != want[i] {
			t.Errorf("request %d = %s %s, want GET %s", i, r.Method, r.Path, want[i])
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+ordersToken {
			t.Errorf("request %d Authorization = %q", i, got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("request %d Accept = %q", i, got)
		}
	}
}

func TestLookupOrder_FailNextRecovers(t *testing.T) {
	srv := orderstest.New(t, ordersToken, testOrders()...)
	r := newAPIRegistry(t, srv, ordersToken)
	srv.FailNext(http.StatusBadGateway)
	first := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"B-77"}`)
	if !first.IsError || !strings.Contains(first.Content, unavailableSuffix) {
		t.Fatalf("first Run() = %+v, want unavailable", first)
	}
	second := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"B-77"}`)
	if second.IsError {
		t.Fatalf("second Run() = %+v, want the order", second)
	}
	b77, _ := json.Marshal(testOrders()[1])
	MustJSONEqual(t, second.Content, string(b77))
}

func TestLookupOrder_UnauthorizedLogsNoToken(t *testing.T) {
	var logs syncBuffer
	srv := orderstest.New(t, "the-right-token")
	tool := MustLookupOrder(t, tools.OrdersConfig{APIURL: srv.URL(), APIToken: ordersToken, Logger: newTestLogger(&logs)})
	r := MustRegistry(t, tools.Options{Logger: newTestLogger(&logs)}, tool)
	res := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"A1001"}`)
	if !res.IsError {
		t.Fatalf("Run() = %+v, want an error", res)
	}
	if !strings.Contains(logs.String(), "status=401") {
		t.Fatalf("log = %q, want the 401 recorded", logs.String())
	}
	for _, s := range []string{res.Content, logs.String()} {
		if strings.Contains(s, ordersToken) || strings.Contains(s, "the-right-token") {
			t.Fatalf("token leaked: %q", s)
		}
	}
}

func TestLookupOrder_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	tool := MustLookupOrder(t, tools.OrdersConfig{APIURL: base, APIToken: ordersToken})
	_, err := tool.Call(context.Background(), json.RawMessage(`{"order_id":"A1001"}`))
	if err == nil || !strings.Contains(err.Error(), unavailableSuffix) {
		t.Fatalf("Call() = %v, want unavailable", err)
	}
}

func TestLookupOrder_DeadlinePassed(t *testing.T) {
	srv := orderstest.New(t, ordersToken, testOrders()...)
	tool := MustLookupOrder(t, tools.OrdersConfig{APIURL: srv.URL(), APIToken: ordersToken})
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err := tool.Call(ctx, json.RawMessage(`{"order_id":"A1001"}`))
	if err == nil || !strings.Contains(err.Error(), unavailableSuffix) {
		t.Fatalf("Call() = %v, want unavailable", err)
	}
}

func TestLookupOrder_BadResponses(t *testing.T) {
	cases := []struct {
		name string
		body string
	}{
		{"NotJSON", "<html>gateway login</html>"},
		{"Truncated", `{"id":"A1001","status":`},
		{"TooLarge", `{"id":"A1001","pad":"` + strings.Repeat("x", 1<<20) + `"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			tool := MustLookupOrder(t, tools.OrdersConfig{APIURL: srv.URL, HTTPClient: srv.Client()})
			_, err := tool.Call(context.Background(), json.RawMessage(`{"order_id":"A1001"}`))
			if err == nil || !strings.Contains(err.Error(), "unreadable response") {
				t.Fatalf("Call() = %v, want unreadable response", err)
			}
		})
	}
}

func TestLookupOrder_APIPreferredOverFile(t *testing.T) {
	srv := orderstest.New(t, ordersToken, testOrders()...)
	r := MustRegistry(t, tools.Options{}, MustLookupOrder(t, tools.OrdersConfig{
		APIURL: srv.URL(), APIToken: ordersToken, File: sampleOrdersFile,
	}))
	res := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"B-77"}`)
	if res.IsError || strings.Contains(res.Content, "not_found") {
		t.Fatalf("Run() = %+v, want B-77 from the API", res)
	}
	if len(srv.Requests()) != 1 {
		t.Fatalf("API saw %d requests, want 1", len(srv.Requests()))
	}
}

func TestLookupOrder_SampleFile(t *testing.T) {
	data, err := os.ReadFile(sampleOrdersFile)
	if err != nil {
		t.Fatalf("read sample orders: %v", err)
	}
	var orders []json.RawMessage
	if err := json.Unmarshal(data, &orders); err != nil {
		t.Fatalf("parse sample orders: %v", err)
	}
	r := MustRegistry(t, tools.Options{}, MustLookupOrder(t, tools.OrdersConfig{File: sampleOrdersFile}))
	for _, o := range orders {
		var head struct{ ID string }
		if err := json.Unmarshal(o, &head); err != nil {
			t.Fatalf("order head: %v", err)
		}
		res := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"`+head.ID+`"}`)
		if res.IsError {
			t.Fatalf("Run(%s) = %+v", head.ID, res)
		}
		MustJSONEqual(t, res.Content, string(o))
		if strings.ContainsAny(res.Content, "\n") {
			t.Errorf("order %s is not compact: %q", head.ID, res.Content)
		}
	}
	res := r.Run(context.Background(), tools.LookupOrderName, `{"order_id":"a1001"}`)
	if res.IsError {
		t.Fatalf("Run(a1001) = %+v", res)
	}
	MustJSONEqual(t, res.Content, `{"error":"not_found","order_id":"a1001"}`)
}

func TestNewLookupOrder_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name     string
		cfg      tools.OrdersConfig
		contains string
	}{
		{"ErrNothingSet", tools.OrdersConfig{APIToken: "tok-abc"}, "neither"},
		{"ErrMissingFile", tools.OrdersConfig{File: filepath.Join(dir, "missing.json")}, "read orders file"},
		{"ErrNotJSON", tools.OrdersConfig{File: write("bad.json", `[{"id":"A1"`)}, "parse orders file"},
		{"ErrNotArray", tools.OrdersConfig{File: write("obj.json", `{"A1":{"id":"A1"}}`)}, "want a JSON array"},
		{"ErrNoID", tools.OrdersConfig{File: write("noid.json", `[{"id":"A1"},{"status":"shipped"}]`)}, `order 1: no string "id"`},
		{"ErrNumericID", tools.OrdersConfig{File: write("numid.json", `[{"id":1001}]`)}, `order 0: no string "id"`},
		{"ErrNotObject", tools.OrdersConfig{File: write("str.json", `["A1001"]`)}, "order 0: not a JSON object"},
		{"ErrDuplicateID", tools.OrdersConfig{File: write("dup.json", `[{"id":"A1"},{"id":"A2"},{"id":"A1"}]`)}, `order 2: duplicate id "A1"`},
		{"ErrURLScheme", tools.OrdersConfig{APIURL: "ftp://orders.example.com"}, "http or https"},
		{"ErrURLNoHost", tools.OrdersConfig{APIURL: "https:///orders"}, "http or https"},
		{"ErrURLRedacted", tools.OrdersConfig{APIURL: "gopher://svc:hunter2@orders.example.com"}, "svc:xxxxx@"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tool, err := tools.NewLookupOrder(tc.cfg)
			if err == nil {
				t.Fatalf("NewLookupOrder() = %v, want an error", tool)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error = %q, want it to contain %q", err, tc.contains)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "tok-abc") {
				t.Fatalf("error leaks a secret: %q", err)
			}
		})
	}
}

func TestLookupOrder_Describe(t *testing.T) {
	r := MustRegistry(t, tools.Options{}, MustLookupOrder(t, tools.OrdersConfig{File: sampleOrdersFile}))
	cases := []struct{ args, want string }{
		{`{"order_id":"A1001"}`, "looking up order A1001"},
		{`{"order_id":"<!channel>"}`, "looking up an order"},
		{`{"order_id":"A10`, "looking up an order"},
		{``, "looking up an order"},
	}
	for _, tc := range cases {
		if got := r.Describe(tools.LookupOrderName, tc.args); got != tc.want {
			t.Errorf("Describe(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
