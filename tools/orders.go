package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
)

// LookupOrderName is the name under which the model calls lookup_order.
const LookupOrderName = "lookup_order"

// orderIDPattern mirrors the "pattern" of lookup_order's order_id.
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var lookupOrderParameters = json.RawMessage(`{
	"type": "object",
	"properties": {
		"order_id": {
			"type": "string",
			"description": "The order ID exactly as the customer gave it, for example A1001.",
			"pattern": "^[A-Za-z0-9-]{1,64}$"
		}
	},
	"required": ["order_id"],
	"additionalProperties": false
}`)

const lookupOrderDescription = "Look up a customer's order by its ID. Returns the order as JSON: status, " +
	"customer, items, total and currency, carrier and tracking number, and when it was created and last " +
	`updated. Returns {"error":"not_found","order_id":...} when no order has that ID.`

// errOrderNotFound is what an orderSource returns for an unknown ID.
var errOrderNotFound = errors.New("order not found")

// orderSource fetches one order as JSON.
type orderSource interface {
	order(ctx context.Context, id string) (json.RawMessage, error)
}

// OrdersConfig selects lookup_order's backend: the orders API when APIURL is
// set, else the sample orders file.
type OrdersConfig struct {
	// APIURL is the orders API base; the tool calls GET {APIURL}/orders/{id}.
	APIURL string
	// APIToken is sent as "Authorization: Bearer <token>" when set.
	APIToken string
	// File is a JSON array of order objects, each with a string "id".
	File string
	// HTTPClient calls the API; default a client with a 30s timeout.
	HTTPClient *http.Client
	// Logger receives backend failures the model is not shown; default discards.
	Logger *slog.Logger
}

// lookupOrder is the built-in lookup_order tool.
type lookupOrder struct {
	src orderSource
}

var (
	_ Tool      = (*lookupOrder)(nil)
	_ Describer = (*lookupOrder)(nil)
)

// NewLookupOrder returns the lookup_order tool backed by the orders API or,
// when no API URL is configured, by the sample orders file. It fails when
// neither is set or the file cannot be read or parsed.
func NewLookupOrder(cfg OrdersConfig) (Tool, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "tools", "tool", LookupOrderName)
	switch {
	case cfg.APIURL != "":
		src, err := newHTTPOrders(cfg, log)
		if err != nil {
			return nil, fmt.Errorf("new %s: %w", LookupOrderName, err)
		}
		return &lookupOrder{src: src}, nil
	case cfg.File != "":
		src, err := loadFileOrders(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("new %s: %w", LookupOrderName, err)
		}
		return &lookupOrder{src: src}, nil
	default:
		return nil, fmt.Errorf("new %s: neither an orders API URL nor an orders file is set", LookupOrderName)
	}
}

// Spec implements Tool.
func (l *lookupOrder) Spec() Spec {
	return Spec{Name: LookupOrderName, Description: lookupOrderDescription, Parameters: lookupOrderParameters}
}

// orderArgs are lookup_order's arguments.
type orderArgs struct {
	OrderID string `json:"order_id"`
}

// Call implements Tool. A missing order is a normal result the model can
// relay; backend failures are errors phrased for the model.
func (l *lookupOrder) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a orderArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("decode arguments: %w", err)
	}
	order, err := l.src.order(ctx, a.OrderID)
	if errors.Is(err, errOrderNotFound) {
		return notFound(a.OrderID), nil
	}
	if err != nil {
		return "", err
	}
	return string(order), nil
}

// Describe implements Describer: "looking up order A1001".
func (l *lookupOrder) Describe(args json.RawMessage) string {
	var a orderArgs
	if json.Unmarshal(args, &a) != nil || !orderIDPattern.MatchString(a.OrderID) {
		return "looking up an order"
	}
	return "looking up order " + a.OrderID
}

func notFound(id string) string {
	b, _ := json.Marshal(struct {
		Error   string `json:"error"`
		OrderID string `json:"order_id"`
	}{"not_found", id})
	return string(b)
}
