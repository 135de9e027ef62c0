package tools_test

import (
	"encoding/json"
	"math/big"
	"os"
	"regexp"
	"testing"
	"time"
)

// sampleOrder is the shape documented for deploy/sample-orders.json.
type sampleOrder struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Customer struct {
		Name string `json:"name"`
	} `json:"customer"`
	Items []struct {
		SKU   string      `json:"sku"`
		Name  string      `json:"name"`
		Qty   int         `json:"qty"`
		Price json.Number `json:"price"`
	} `json:"items"`
	Total          json.Number `json:"total"`
	Currency       string      `json:"currency"`
	Carrier        *string     `json:"carrier"`
	TrackingNumber *string     `json:"tracking_number"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

func TestSampleOrdersFile(t *testing.T) {
	data, err := os.ReadFile(sampleOrdersFile)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var orders []sampleOrder
	if err := json.Unmarshal(data, &orders); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(orders) < 5 {
		t.Fatalf("%d sample orders, want about 6", len(orders))
	}
	idPattern := regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	statuses := map[string]bool{}
	seen := map[string]bool{}
	for _, o := range orders {
		if !idPattern.MatchString(o.ID) || seen[o.ID] {
			t.Errorf("order id %q is invalid or repeated", o.ID)
		}
		seen[o.ID] = true
		statuses[o.Status] = true
		if o.Customer.Name == "" || len(o.Items) == 0 || len(o.Currency) != 3 {
			t.Errorf("order %s lacks customer, items or currency", o.ID)
		}
		if o.CreatedAt.IsZero() || o.UpdatedAt.Before(o.CreatedAt) {
			t.Errorf("order %s times: created %v, updated %v", o.ID, o.CreatedAt, o.UpdatedAt)
		}
		shipped := o.Status == "shipped" || o.Status == "delivered"
		if shipped != (o.Carrier != nil && o.TrackingNumber != nil) {
			t.Errorf("order %s is %s but carrier/tracking set = %v", o.ID, o.Status, o.Carrier != nil)
		}
		MustTotalMatch(t, o)
	}
	for _, s := range []string{"shipped", "processing", "delivered", "cancelled"} {
		if !statuses[s] {
			t.Errorf("no sample order is %s", s)
		}
	}
}

// MustTotalMatch checks that an order's total is the sum of qty × price,
// in exact decimal arithmetic.
func MustTotalMatch(tb testing.TB, o sampleOrder) {
	tb.Helper()
	sum := new(big.Rat)
	for _, it := range o.Items {
		price, ok := new(big.Rat).SetString(it.Price.String())
		if !ok || it.Qty <= 0 || it.SKU == "" || it.Name == "" {
			tb.Errorf("order %s item %+v is malformed", o.ID, it)
			return
		}
		sum.Add(sum, price.Mul(price, big.NewRat(int64(it.Qty), 1)))
	}
	total, ok := new(big.Rat).SetString(o.Total.String())
	if !ok || total.Cmp(sum) != 0 {
		tb.Errorf("order %s total %s, items sum to %s", o.ID, o.Total, sum.FloatString(2))
	}
}
