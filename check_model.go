package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"kimibot/adapters/kimi"
	"kimibot/bot"
)

// keyVariable names the variable that holds the provider's key.
func (c *checker) keyVariable() string {
	if c.cfg.Provider == ProviderOpenRouter {
		return "OPENROUTER_API_KEY"
	}
	return "MOONSHOT_API_KEY"
}

// checkModel checks the API key, the model list, the default model and the balance.
func (c *checker) checkModel(ctx context.Context) {
	client, err := kimi.New(kimi.Config{Provider: kimi.Provider(c.cfg.Provider), APIKey: c.cfg.APIKey,
		BaseURL: c.cfg.BaseURL, Title: "kimibot", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		c.fail("model client", err.Error(), "check KIMI_PROVIDER and KIMI_BASE_URL")
		return
	}
	list, err := client.Models(ctx)
	var ke *kimi.Error
	switch {
	case errors.As(err, &ke) && ke.Kind == kimi.Auth:
		c.fail("model API key", fmt.Sprintf("%s refused the key (HTTP %d)", c.cfg.Provider, ke.Status),
			fmt.Sprintf("set %s to a valid key from the provider's console", c.keyVariable()))
		return
	case err != nil:
		c.fail("model list", fmt.Sprintf("could not list models: %v", err),
			"check KIMI_BASE_URL and that this host can reach the provider")
		return
	}
	c.ok("model API key", fmt.Sprintf("%s accepted the key and listed %d models", c.cfg.Provider, len(list)))
	c.checkDefaultModel(list)
	c.checkBalance(ctx)
}

// checkDefaultModel checks that KIMI_MODEL is in the list, or that one can be chosen.
func (c *checker) checkDefaultModel(list []bot.ModelInfo) {
	if strings.HasPrefix(c.cfg.Model, "~") {
		c.ok("default model", c.cfg.Model+" is a provider alias, resolved by the provider on each call")
		return
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if m.ID == c.cfg.Model {
			c.ok("default model", c.cfg.Model+" is available")
			return
		}
		ids = append(ids, m.ID)
	}
	if c.cfg.Model != "" {
		c.fail("default model", fmt.Sprintf("KIMI_MODEL %s is not in the provider's model list", c.cfg.Model),
			"set KIMI_MODEL to one of: "+strings.Join(ids, ", "))
		return
	}
	if best := bestKimi(list); best != "" {
		c.ok("default model", "KIMI_MODEL is not set; kimibot will use "+best)
		return
	}
	c.fail("default model", "the provider lists no Kimi model", "set KIMI_MODEL to a model the provider serves")
}

// checkBalance reads the account balance: Moonshot's balance, or the
// credits left on OpenRouter.
func (c *checker) checkBalance(ctx context.Context) {
	auth := "Bearer " + c.cfg.APIKey
	if c.cfg.Provider == ProviderOpenRouter {
		var cr struct {
			Data struct {
				Total float64 `json:"total_credits"`
				Used  float64 `json:"total_usage"`
			} `json:"data"`
		}
		status, _, err := c.getJSON(ctx, http.MethodGet, c.cfg.BaseURL+"/credits", auth, &cr)
		if err != nil || status != http.StatusOK {
			c.warn("balance", fmt.Sprintf("could not read the credits (HTTP %d, %v)", status, err),
				"check the credits at openrouter.ai/settings/credits")
			return
		}
		c.balanceResult(cr.Data.Total-cr.Data.Used, 0, "top up at openrouter.ai/settings/credits")
		return
	}
	var b struct {
		Data struct {
			Available float64 `json:"available_balance"`
			Cash      float64 `json:"cash_balance"`
		} `json:"data"`
	}
	status, _, err := c.getJSON(ctx, http.MethodGet, c.cfg.BaseURL+"/users/me/balance", auth, &b)
	if err != nil || status != http.StatusOK {
		c.warn("balance", fmt.Sprintf("could not read the balance (HTTP %d, %v)", status, err),
			"check the balance in the Moonshot console")
		return
	}
	c.balanceResult(b.Data.Available, b.Data.Cash, "recharge the account in the Moonshot console")
}

func (c *checker) balanceResult(available, cash float64, fix string) {
	switch {
	case available <= 0:
		c.fail("balance", fmt.Sprintf("%.2f available: model calls will fail", available), fix)
	case cash < 0:
		c.warn("balance", fmt.Sprintf("%.2f available, cash balance %.2f", available, cash), fix)
	default:
		c.ok("balance", fmt.Sprintf("%.2f available", available))
	}
}
