package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"kimibot/tools"
	"kimibot/tools/mcp"
)

// checkMCP starts or reaches each MCP server and lists the tools it would
// offer the model.
func (c *checker) checkMCP(ctx context.Context) {
	for _, s := range c.cfg.Kimi.MCPServers {
		name := "MCP server " + s.Name
		set, err := mcp.Connect(ctx, []mcp.Server{s}, slog.New(slog.DiscardHandler))
		if err != nil {
			c.fail(name, fmt.Sprintf("could not connect: %v", err),
				"check the command or URL and headers of "+s.Name+" in KIMIBOT_MCP_SERVERS")
			continue
		}
		names, err := set.Register(ctx, tools.NewRegistry(tools.Options{}))
		_ = set.Close()
		switch {
		case err != nil:
			c.fail(name, fmt.Sprintf("could not list tools: %v", err), "check the server's logs")
		case len(names) == 0:
			c.warn(name, "connected, but it offers no tool kimibot can use", "check the server's tools and their schemas")
		default:
			c.ok(name, fmt.Sprintf("%d tools: %s", len(names), strings.Join(names, ", ")))
		}
	}
}
