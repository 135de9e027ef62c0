// Package mcptest is a small MCP server for tests of kimibot's MCP client:
// a test binary re-executes itself with EnvServe set and serves it on
// stdin and stdout, or a test serves it over streamable HTTP on loopback.
package mcptest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// EnvServe, set to "1", makes ServeIfAsked serve the test server on stdio.
const EnvServe = "KIMIBOT_MCP_TEST_SERVER"

// AddArgs are the arguments of the "add" tool.
type AddArgs struct {
	// A and B are the numbers to add.
	A float64 `json:"a" jsonschema:"the first number"`
	B float64 `json:"b" jsonschema:"the second number"`
}

// NewServer returns the test server. Its tools: "add" returns the sum of a
// and b as text; "fail" always reports a tool error.
func NewServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "kimibot-test", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "add", Description: "Add two numbers."},
		func(_ context.Context, _ *sdk.CallToolRequest, in AddArgs) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{
				&sdk.TextContent{Text: fmt.Sprintf("%g + %g = %g", in.A, in.B, in.A+in.B)}}}, nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always fails."},
		func(_ context.Context, _ *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{
				&sdk.TextContent{Text: "the backend is down"}}}, nil, nil
		})
	return s
}

// ServeIfAsked serves the test server on stdio and exits when EnvServe is
// "1"; otherwise it returns at once. Call it first in TestMain.
func ServeIfAsked() {
	if os.Getenv(EnvServe) != "1" {
		return
	}
	if err := NewServer().Run(context.Background(), &sdk.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "mcp test server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// HTTPServer is the test server over streamable HTTP.
type HTTPServer struct {
	// URL is the endpoint to give the client.
	URL string
	// Refused counts requests turned away for a missing or wrong header.
	Refused atomic.Int64
}

// NewHTTP serves the test server over streamable HTTP on loopback; every
// request must carry the header with the value given.
func NewHTTP(tb testing.TB, header, value string) *HTTPServer {
	tb.Helper()
	srv := NewServer()
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	out := &HTTPServer{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != value {
			out.Refused.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(ts.Close)
	out.URL = ts.URL
	return out
}
