package discord

import (
	"slices"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/internal/testkit"
)

// BenchmarkInteractionAck measures the time from the fake dispatching an
// interaction to it accepting the initial response, through the gateway,
// the adapter and the engine: a slash command (deferred at once) and a
// model autocomplete (answered with the choices). Discord voids an
// interaction not answered within 3 s.
func BenchmarkInteractionAck(b *testing.B) {
	c := mustCommandE2E(b, testkit.Options{})
	m := member(c.general, c.user)
	kinds := []struct {
		name string
		send func() (discordtest.Interaction, error)
	}{
		{"command", func() (discordtest.Interaction, error) { return c.fake.SendCommand(m, "help") }},
		{"autocomplete", func() (discordtest.Interaction, error) {
			return c.fake.SendAutocomplete(m, "model", discordtest.Option{Name: "id", Value: "k2", Focused: true})
		}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var acks []time.Duration
			for b.Loop() {
				it, err := k.send()
				if err != nil {
					b.Fatal(err)
				}
				st := waitCallback(b, c.fake, it.ID)
				acks = append(acks, st.CallbackAt.Sub(st.Dispatched))
			}
			slices.Sort(acks)
			pct := func(p float64) float64 {
				return float64(acks[int(p*float64(len(acks)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "ack-p50-ms")
			b.ReportMetric(pct(0.99), "ack-p99-ms")
			b.ReportMetric(pct(1), "ack-max-ms")
		})
	}
}
