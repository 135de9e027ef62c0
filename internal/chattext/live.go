package chattext

// Live renders a span whose text is still growing: a fence open at its end
// is closed, so that partial code shows as code. When the closing line
// would pass the limit, the view stops short of the span's end; the
// message catches up once the text is known.
func (st Style) Live(text string, sp Span) string {
	shown := sp.Text(text)
	for shown != "" {
		c := st.Close(shown)
		if st.Len(shown)+st.Len(c) <= st.Limit {
			return shown + c
		}
		shown = shown[:st.Count.Within(shown, st.Limit-st.Len(c))]
	}
	return ""
}
