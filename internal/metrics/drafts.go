package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kimibot/conversation"
)

// DraftLister lists drafts by state; *storage.Store implements it.
type DraftLister interface {
	DraftsByState(ctx context.Context, states ...conversation.DraftState) ([]conversation.Draft, error)
}

// openStates are the draft states counted at each scrape: the ones a draft
// leaves again. Finished drafts only grow in number and are left out.
var openStates = []conversation.DraftState{conversation.DraftPending, conversation.DraftSending}

// draftScrapeTimeout bounds the database read of one scrape.
const draftScrapeTimeout = 5 * time.Second

var draftsDesc = prometheus.NewDesc("kimibot_drafts",
	"Support drafts waiting for a decision (pending) or being sent (sending), by kind.",
	[]string{"state", "kind"}, nil)

var draftScrapeErrors = prometheus.NewDesc("kimibot_drafts_scrape_errors",
	"1 when the drafts could not be read at this scrape.", nil, nil)

// draftCollector counts open drafts from the database at scrape time.
type draftCollector struct {
	drafts DraftLister
}

// Describe implements prometheus.Collector.
func (c *draftCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- draftsDesc
	ch <- draftScrapeErrors
}

// Collect implements prometheus.Collector.
func (c *draftCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), draftScrapeTimeout)
	defer cancel()
	ds, err := c.drafts.DraftsByState(ctx, openStates...)
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(draftScrapeErrors, prometheus.GaugeValue, failed)
	counts := map[[2]string]int{}
	for _, st := range openStates {
		for _, k := range []conversation.DraftKind{conversation.DraftReply, conversation.DraftTool} {
			counts[[2]string{string(st), string(k)}] = 0
		}
	}
	for _, d := range ds {
		counts[[2]string{string(d.State), string(d.Kind)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(draftsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
