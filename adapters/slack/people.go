package slack

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"

	"kimibot/bot"
)

var _ bot.Linker = (*Adapter)(nil)

var _ bot.GroupResolver = (*Adapter)(nil)

// How long looked-up facts are kept.
const (
	// nameTTL is how long a user's name is kept, missTTL how long a failed
	// lookup is not tried again.
	nameTTL, missTTL = time.Hour, time.Minute
	// groupTTL is how long a user group's members are kept.
	groupTTL = 5 * time.Minute
	// maxCached bounds each cache; a full cache starts over.
	maxCached = 10_000
)

// people caches what Slack says about users, user groups and message links.
type people struct {
	mu      sync.Mutex
	names   map[string]cachedName
	groups  map[string]cachedGroup
	links   map[bot.MsgRef]string
	flights singleflight.Group
}

type cachedName struct {
	name string
	at   time.Time
	ttl  time.Duration
}

type cachedGroup struct {
	members map[string]bool
	at      time.Time
}

func newPeople() people {
	return people{names: map[string]cachedName{}, groups: map[string]cachedGroup{}, links: map[bot.MsgRef]string{}}
}

// cachedName returns a user's name if it is known, without asking Slack.
func (a *Adapter) cachedName(user string) string {
	a.people.mu.Lock()
	defer a.people.mu.Unlock()
	c, ok := a.people.names[user]
	if !ok || time.Since(c.at) > c.ttl {
		return ""
	}
	return c.name
}

// userName returns how a user is called (display name, else real name,
// else user name), asking users.info when it is not cached. It returns ""
// when Slack does not say.
func (a *Adapter) userName(ctx context.Context, user string) string {
	if user == "" {
		return ""
	}
	a.people.mu.Lock()
	c, ok := a.people.names[user]
	a.people.mu.Unlock()
	if ok && time.Since(c.at) <= c.ttl {
		return c.name
	}
	v, _, _ := a.people.flights.Do("user:"+user, func() (any, error) {
		name, err := a.lookUpName(ctx, user)
		ttl := nameTTL
		if err != nil {
			a.log.Debug("look up user name", "user", user, "err", err)
			ttl = missTTL
		}
		a.people.mu.Lock()
		defer a.people.mu.Unlock()
		if len(a.people.names) >= maxCached {
			a.people.names = map[string]cachedName{}
		}
		a.people.names[user] = cachedName{name: name, at: time.Now(), ttl: ttl}
		return name, nil
	})
	return v.(string)
}

func (a *Adapter) lookUpName(ctx context.Context, user string) (string, error) {
	var u *slack.User
	err := a.call(ctx, a.pacing.workspace(a.team()).lookup, "users.info", func(ctx context.Context) error {
		var err error
		u, err = a.api.GetUserInfoContext(ctx, user)
		return err
	})
	if err != nil {
		return "", err
	}
	return cmp.Or(u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name), nil
}

// InGroup reports whether user is a member of the Slack user group, from
// usergroups.users.list, kept for a few minutes.
func (a *Adapter) InGroup(ctx context.Context, group, user string) (bool, error) {
	a.people.mu.Lock()
	c, ok := a.people.groups[group]
	a.people.mu.Unlock()
	if ok && time.Since(c.at) <= groupTTL {
		return c.members[user], nil
	}
	v, err, _ := a.people.flights.Do("group:"+group, func() (any, error) {
		members, err := a.lookUpGroup(ctx, group)
		if slackError(err) != "" {
			// Slack's answer, such as no_such_subteam, holds for a while too.
			a.keepGroup(group, map[string]bool{})
		}
		return members, err
	})
	if err != nil {
		return false, err
	}
	return v.(map[string]bool)[user], nil
}

func (a *Adapter) lookUpGroup(ctx context.Context, group string) (map[string]bool, error) {
	var users []string
	err := a.call(ctx, a.pacing.workspace(a.team()).groups, "usergroups.users.list", func(ctx context.Context) error {
		var err error
		users, err = a.api.GetUserGroupMembersContext(ctx, group)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of user group %s: %w", group, err)
	}
	members := make(map[string]bool, len(users))
	for _, u := range users {
		members[u] = true
	}
	a.keepGroup(group, members)
	return members, nil
}

// keepGroup caches the members of a group.
func (a *Adapter) keepGroup(group string, members map[string]bool) {
	a.people.mu.Lock()
	defer a.people.mu.Unlock()
	if len(a.people.groups) >= maxCached {
		a.people.groups = map[string]cachedGroup{}
	}
	a.people.groups[group] = cachedGroup{members: members, at: time.Now()}
}

// Permalink returns the link to a message, from chat.getPermalink; links
// do not change, so each is asked for once.
func (a *Adapter) Permalink(ctx context.Context, ref bot.MsgRef) (string, error) {
	a.people.mu.Lock()
	link, ok := a.people.links[ref]
	a.people.mu.Unlock()
	if ok {
		return link, nil
	}
	err := a.call(ctx, a.pacing.workspace(a.team()).lookup, "chat.getPermalink", func(ctx context.Context) error {
		var err error
		link, err = a.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ref.Channel, Ts: ref.ID})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("get permalink of %s/%s: %w", ref.Channel, ref.ID, err)
	}
	a.people.mu.Lock()
	defer a.people.mu.Unlock()
	if len(a.people.links) >= maxCached {
		a.people.links = map[bot.MsgRef]string{}
	}
	a.people.links[ref] = link
	return link, nil
}
