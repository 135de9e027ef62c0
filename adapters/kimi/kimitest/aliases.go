package kimitest

// orAliases are OpenRouter's model aliases: IDs starting with "~" that
// the model list omits and that resolve to the newest model of a family.
// The answer reports the model that served.
var orAliases = map[string]string{
	"~moonshotai/kimi-latest": "moonshotai/kimi-k3",
}

// alias resolves an OpenRouter alias to a model of the table.
func (s *Server) alias(id string) (Model, bool) {
	if s.opts.Flavor != OpenRouter {
		return Model{}, false
	}
	target, ok := orAliases[id]
	if !ok {
		return Model{}, false
	}
	m, ok := s.models[target]
	return m, ok
}
