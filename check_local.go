package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"kimibot/storage"
	"kimibot/storage/postgres"
	"kimibot/tools"
)

// probeOrder is the order ID the orders check asks for; any answer but an
// error shows the service reachable.
const probeOrder = "kimibot-check"

// checkOrders checks the orders file or that the orders API answers.
func (c *checker) checkOrders(ctx context.Context) {
	switch {
	case c.cfg.OrdersFile != "":
		if _, err := tools.NewLookupOrder(tools.OrdersConfig{File: c.cfg.OrdersFile}); err != nil {
			c.fail("orders", err.Error(), "fix the JSON of ORDERS_FILE or point it at the right file")
			return
		}
		c.ok("orders", "ORDERS_FILE loads")
	case c.cfg.OrdersAPIURL != "":
		auth := ""
		if c.cfg.OrdersAPIToken != "" {
			auth = "Bearer " + c.cfg.OrdersAPIToken
		}
		status, _, err := c.getJSON(ctx, http.MethodGet, strings.TrimRight(c.cfg.OrdersAPIURL, "/")+"/orders/"+probeOrder, auth, nil)
		switch {
		case err != nil:
			c.fail("orders", err.Error(), "check ORDERS_API_URL and that this host can reach it")
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			c.fail("orders", fmt.Sprintf("the orders API refused the token (HTTP %d)", status), "set ORDERS_API_TOKEN")
		case status == http.StatusOK || status == http.StatusNotFound:
			c.ok("orders", "the orders API answers")
		default:
			c.fail("orders", fmt.Sprintf("the orders API answered HTTP %d", status), "check the orders service")
		}
	default:
		c.info("orders", "no orders backend configured; lookup_order is off", "set ORDERS_API_URL to enable it")
	}
}

// checkRunningDatabase asks the running kimibot that holds the database
// to check it.
func (c *checker) checkRunningDatabase(ctx context.Context) {
	err := checkThroughBot(ctx, c.cfg.DB)
	switch {
	case err == nil:
		c.ok("database", c.cfg.DB+" is consistent (checked by the running kimibot)")
	case errors.Is(err, errNoBot):
		c.warn("database", c.cfg.DB+" is locked by a running kimibot, so it was not checked",
			"stop the bot or check a backup copy (KIMIBOT_DB=copy.db kimibot check)")
	default:
		c.fail("database", err.Error(), "restore the file from a backup, or move it aside to start with an empty database")
	}
}

// checkDatabase checks that the database file is readable and consistent.
func (c *checker) checkDatabase(ctx context.Context) {
	if postgres.IsURL(c.cfg.DB) {
		c.checkPostgres(ctx)
		return
	}
	var damaged *storage.DamagedError
	err := storage.Check(ctx, c.cfg.DB)
	switch {
	case err == nil:
		c.ok("database", c.cfg.DB+" is readable and consistent")
	case errors.Is(err, os.ErrNotExist):
		c.info("database", c.cfg.DB+" does not exist yet", "kimibot creates it at first start; check KIMIBOT_DB if one should exist")
	case errors.Is(err, storage.ErrLocked):
		c.checkRunningDatabase(ctx)
	case errors.Is(err, storage.ErrSchemaTooNew):
		c.fail("database", err.Error(), "run the newer kimibot that wrote the file")
	case errors.As(err, &damaged):
		c.fail("database", c.cfg.DB+" is damaged: "+damaged.Problem,
			"restore the file from a backup, or move it aside to start with an empty database")
	default:
		c.fail("database", err.Error(), "restore the file from a backup, or move it aside to start with an empty database")
	}
}

// checkPostgres checks that the PostgreSQL database answers and that its
// schema is one this binary knows, changing nothing; it never shows the
// password.
func (c *checker) checkPostgres(ctx context.Context) {
	where := postgres.Redact(c.cfg.DB)
	version, err := postgres.Check(ctx, c.cfg.DB)
	switch {
	case errors.Is(err, postgres.ErrSchemaTooNew):
		c.fail("database", err.Error(), "run the newer kimibot that wrote the schema")
	case err != nil:
		c.fail("database", err.Error(), "check that PostgreSQL runs and that KIMIBOT_DB names its host, database, user and password")
	case version == 0:
		c.info("database", where+" answers; kimibot has not created its tables yet",
			"kimibot creates them at first start (or copy a bbolt database with kimibot migrate-store)")
	default:
		c.ok("database", fmt.Sprintf("%s answers, schema version %d", where, version))
	}
}
