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
		err = s.settings.set(k, value, func() error {
			return s.update(ctx, func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketSettings)
				if value == "" {
					return b.Delete([]byte(k))
				}
				return b.Put([]byte(k), []byte(value))
			})
		})
	}
	if err != nil {
		return fmt.Errorf("set %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	return nil
}

// Setting returns the value stored under name for scope, or
// conversation.ErrNotFound. It reads the copy in memory.
func (s *Store) Setting(ctx context.Context, scope conversation.Scope, name string) (string, error) {
	k, err := settingKey(scope, name)
	if err != nil {
		return "", fmt.Errorf("get %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	v, ok := s.settings.get(k)
	if !ok {
		return "", conversation.ErrNotFound
	}
	return v, nil
}

// settingMemory holds every setting of the file in memory: the file is
// this process's alone, settings are few and every turn reads several.
type settingMemory struct {
	mu sync.RWMutex
	m  map[string]string
	// writing serializes writes, so that the file and the memory take
	// them in the same order.
	writing sync.Mutex
}

// load reads every setting of the file.
func (c *settingMemory) load(db *bolt.DB) error {
	m := map[string]string{}
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).ForEach(func(k, v []byte) error {
			m[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load settings: %w", err)
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
	return nil
}

func (c *settingMemory) get(k string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

// set stores value under k with write, and then in memory; an empty value
// deletes it.
func (c *settingMemory) set(k, value string, write func() error) error {
	c.writing.Lock()
	defer c.writing.Unlock()
	if err := write(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if value == "" {
		delete(c.m, k)
	} else {
		c.m[k] = value
	}
	return nil
}

// settingKey is "kind/platform/id/name". The id may hold slashes (thread
// keys do); the name may not, so keys stay unique.
func settingKey(scope conversation.Scope, name string) (string, error) {
	if scope.Kind == "" || scope.Platform == "" || scope.ID == "" || name == "" ||
		strings.Contains(name, "/") || strings.Contains(string(scope.Kind), "/") ||
		strings.Contains(scope.Platform, "/") {
		return "", errInvalidSetting
	}
	return string(scope.Kind) + "/" + scope.Platform + "/" + scope.ID + "/" + name, nil
}
