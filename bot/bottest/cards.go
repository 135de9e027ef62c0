package bottest

import (
	"context"
	"fmt"

	"kimibot/bot"
)

var (
	_ bot.Cards         = (*Platform)(nil)
	_ bot.Poster        = (*Platform)(nil)
	_ bot.Linker        = (*Platform)(nil)
	_ bot.GroupResolver = (*Platform)(nil)
)

// Posted is a complete message posted with Post.
type Posted struct {
	Where bot.ThreadRef
	Text  string
	Key   string
	Ref   bot.MsgRef
}

// CardState is a posted card as it currently shows.
type CardState struct {
	Ref     bot.MsgRef
	Where   bot.ThreadRef
	Card    bot.Card
	Updates int
}

// PostCard records a new card.
func (p *Platform) PostCard(ctx context.Context, where bot.ThreadRef, c bot.Card) (bot.MsgRef, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgSeq++
	ref := bot.MsgRef{Platform: p.name, Channel: where.Channel, ID: fmt.Sprintf("card%d", p.msgSeq)}
	p.cards = append(p.cards, &CardState{Ref: ref, Where: where, Card: c})
	p.notifyLocked()
	return ref, nil
}

// UpdateCard redraws a recorded card.
func (p *Platform) UpdateCard(ctx context.Context, ref bot.MsgRef, c bot.Card) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cs := range p.cards {
		if cs.Ref == ref {
			cs.Card = c
			cs.Updates++
			p.notifyLocked()
			return nil
		}
	}
	return fmt.Errorf("update card %s: not found", ref.ID)
}

// Cards returns copies of the cards posted so far.
func (p *Platform) Cards() []CardState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]CardState, len(p.cards))
	for i, c := range p.cards {
		out[i] = *c
	}
	return out
}

// WaitCards waits until n cards exist and cond holds for the last one.
func (p *Platform) WaitCards(ctx context.Context, n int, cond func(bot.Card) bool) ([]CardState, error) {
	for {
		cs := p.Cards()
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		if len(cs) >= n && (cond == nil || cond(cs[n-1].Card)) {
			return cs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cs, fmt.Errorf("wait for %d cards: %w", n, ctx.Err())
		}
	}
}

// Post records a complete message; FailPosts makes it fail.
func (p *Platform) Post(ctx context.Context, where bot.ThreadRef, text, key string) (bot.MsgRef, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.postErr != nil {
		return bot.MsgRef{}, p.postErr
	}
	p.msgSeq++
	ref := bot.MsgRef{Platform: p.name, Channel: where.Channel, ID: fmt.Sprintf("post%d", p.msgSeq)}
	p.posts = append(p.posts, Posted{Where: where, Text: text, Key: key, Ref: ref})
	p.notifyLocked()
	return ref, nil
}

// FindPosted finds a message posted with key in the same channel.
func (p *Platform) FindPosted(ctx context.Context, where bot.ThreadRef, key string) (bot.MsgRef, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.posts {
		if key != "" && m.Key == key && m.Where.Channel == where.Channel {
			return m.Ref, true, nil
		}
	}
	return bot.MsgRef{}, false, nil
}

// Posts returns the messages posted with Post.
func (p *Platform) Posts() []Posted {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Posted(nil), p.posts...)
}

// FailPosts makes Post return err (nil restores it).
func (p *Platform) FailPosts(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.postErr = err
}

// Permalink returns a fake link.
func (p *Platform) Permalink(ctx context.Context, ref bot.MsgRef) (string, error) {
	return "https://chat.example/" + ref.Channel + "/" + ref.ID, nil
}

// SetGroup makes users members of group.
func (p *Platform) SetGroup(group string, users ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groups[group] = users
}

// InGroup reports membership set with SetGroup.
func (p *Platform) InGroup(ctx context.Context, group, user string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.groups[group] {
		if u == user {
			return true, nil
		}
	}
	return false, nil
}
