package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"kimibot/tools"
)

// tool is one MCP server tool as a tools.Tool.
type tool struct {
	server  string
	remote  string
	session *sdk.ClientSession
	spec    tools.Spec
}

var (
	_ tools.Tool      = (*tool)(nil)
	_ tools.Describer = (*tool)(nil)
)

// invalidName matches characters Kimi does not allow in tool names.
var invalidName = strings.NewReplacer(".", "_", "/", "_", " ", "_", ":", "_")

func newTool(server string, session *sdk.ClientSession, t *sdk.Tool) (*tool, error) {
	schema, err := json.Marshal(t.InputSchema)
	if err != nil {
		return nil, fmt.Errorf("encode input schema: %w", err)
	}
	if string(schema) == "null" {
		schema = nil
	}
	desc := t.Description
	if desc == "" {
		desc = t.Title
	}
	return &tool{server: server, remote: t.Name, session: session, spec: tools.Spec{
		Name:        invalidName.Replace(server + "_" + t.Name),
		Description: strings.TrimSpace(desc + " (from the " + server + " MCP server)"),
		Parameters:  schema,
	}}, nil
}

// Spec describes the tool to the model.
func (t *tool) Spec() tools.Spec { return t.spec }

// Describe is the status line shown while the tool runs.
func (t *tool) Describe(json.RawMessage) string { return "using " + t.remote + " on " + t.server }

// Call runs the tool on its server. A result the server marks as an error
// is returned as an error, which the model sees as a tool error.
func (t *tool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	res, err := t.session.CallTool(ctx, &sdk.CallToolParams{Name: t.remote, Arguments: args})
	if err != nil {
		return "", fmt.Errorf("call %s on mcp server %s: %w", t.remote, t.server, err)
	}
	text := resultText(res)
	if res.IsError {
		return "", errors.New(text)
	}
	return text, nil
}

// resultText renders a tool result for the model: text parts as they are,
// other parts named, and the structured result when there is no text.
func resultText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		switch c := c.(type) {
		case *sdk.TextContent:
			parts = append(parts, c.Text)
		case *sdk.ImageContent:
			parts = append(parts, "[image "+c.MIMEType+" not shown]")
		case *sdk.EmbeddedResource:
			if c.Resource != nil && c.Resource.Text != "" {
				parts = append(parts, c.Resource.Text)
			}
		case *sdk.ResourceLink:
			parts = append(parts, "[resource "+c.URI+"]")
		default:
			parts = append(parts, "[content not shown]")
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n")
}
