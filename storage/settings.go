package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// errInvalidSetting rejects scopes and names that cannot form a unique key.
var errInvalidSetting = errors.New("setting needs a scope kind, platform, id and a name without '/'")

// SetSetting stores value under name for scope; an empty value deletes it.
func (s *Store) SetSetting(ctx context.Context, scope conversation.Scope, name, value string) error {
	k, err := settingKey(scope, name)
	if err == nil {
		// The cached value is dropped before and after the write, so that a
		// read racing it cannot keep the old one.
		s.settings.forget(string(k))
		defer s.settings.forget(string(k))
		err = s.update(ctx, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSettings)
			if value == "" {
				return b.Delete(k)
			}
			return b.Put(k, []byte(value))
		})
	}
	if err != nil {
		return fmt.Errorf("set %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	return nil
}

// Setting returns the value stored under name for scope, or
// conversation.ErrNotFound.
func (s *Store) Setting(ctx context.Context, scope conversation.Scope, name string) (string, error) {
	k, err := settingKey(scope, name)
	if err != nil {
		return "", fmt.Errorf("get %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	if v, found, ok := s.settings.get(string(k)); ok {
		if !found {
			return "", conversation.ErrNotFound
		}
		return v, nil
	}
	var value string
	found := false
	gen := s.settings.generation()
	err = s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSettings).Get(k); v != nil {
			value, found = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("get %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	s.settings.put(string(k), value, found, gen)
	if !found {
		return "", conversation.ErrNotFound
	}
	return value, nil
}

// settingCache keeps settings read from the store, found or not. A write
// bumps the generation, so that a value read before it is not cached
// after it.
type settingCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]cachedSetting
}

type cachedSetting struct {
	value string
	found bool
}

// maxCachedSettings bounds the cache; past it, it starts over.
const maxCachedSettings = 100_000

func (c *settingCache) get(k string) (value string, found, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e.value, e.found, ok
}

func (c *settingCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches a value read at generation gen, unless a write came since.
func (c *settingCache) put(k, value string, found bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedSettings {
		c.m = map[string]cachedSetting{}
	}
	c.m[k] = cachedSetting{value: value, found: found}
}

// forget drops k and makes reads under way not cache what they read.
func (c *settingCache) forget(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}

// settingKey is "kind/platform/id/name". The id may hold slashes (thread
// keys do); the name may not, so keys stay unique.
func settingKey(scope conversation.Scope, name string) ([]byte, error) {
	if scope.Kind == "" || scope.Platform == "" || scope.ID == "" || name == "" ||
		strings.Contains(name, "/") || strings.Contains(string(scope.Kind), "/") ||
		strings.Contains(scope.Platform, "/") {
		return nil, errInvalidSetting
	}
	return []byte(string(scope.Kind) + "/" + scope.Platform + "/" + scope.ID + "/" + name), nil
}
