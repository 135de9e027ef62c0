package main

import (
	"context"
	"fmt"
	"log/slog"

	"kimibot/adapters/kimi"
	"kimibot/bot"
	"kimibot/tools"
	"kimibot/tools/mcp"
)

// kimiFeatures adds the Kimi settings to the engine configuration:
// thinking, sampling, web search, prices, history size and, on Moonshot,
// documents through the files API and the account balance.
func (a *app) kimiFeatures(c bot.Config) bot.Config {
	k := a.cfg.Kimi
	c.Thinking, c.Temperature, c.MaxTokens = k.Thinking, k.Temperature, k.MaxTokens
	c.WebSearch, c.Prices, c.HistoryTokens = k.WebSearch, k.Prices, k.HistoryTokens
	c.MaxFileBytes, c.FileTTL = k.MaxFileBytes, k.FileTTL
	if kimi.Provider(a.cfg.Provider) == kimi.Moonshot {
		c.Files, c.Balance, c.Tokens = a.kimi, a.kimi, a.kimi
	}
	return c
}

// connectMCP starts or reaches the configured MCP servers and registers
// their tools in reg.
func connectMCP(ctx context.Context, cfg Config, reg *tools.Registry, log *slog.Logger) (*mcp.Set, error) {
	if len(cfg.Kimi.MCPServers) == 0 {
		return nil, nil
	}
	set, err := mcp.Connect(ctx, cfg.Kimi.MCPServers, log)
	if err != nil {
		return nil, err
	}
	names, err := set.Register(ctx, reg)
	if err != nil {
		_ = set.Close()
		return nil, fmt.Errorf("register mcp tools: %w", err)
	}
	log.Info("mcp tools registered", "tools", names)
	return set, nil
}
