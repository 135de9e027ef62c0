package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// errInvalidSetting rejects scopes and names that cannot form a unique key.
var errInvalidSetting = errors.New("setting needs a scope kind, platform, id and a name without '/'")

// SetSetting stores value under name for scope; an empty value deletes it.
func (s *Store) SetSetting(ctx context.Context, scope conversation.Scope, name, value string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		k, err := settingKey(scope, name)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketSettings)
		if value == "" {
			return b.Delete(k)
		}
		return b.Put(k, []byte(value))
	})
	if err != nil {
		return fmt.Errorf("set %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	return nil
}

// Setting returns the value stored under name for scope, or
// conversation.ErrNotFound.
func (s *Store) Setting(ctx context.Context, scope conversation.Scope, name string) (string, error) {
	var value string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		k, err := settingKey(scope, name)
		if err != nil {
			return err
		}
		v := tx.Bucket(bucketSettings).Get(k)
		if v == nil {
			return conversation.ErrNotFound
		}
		value = string(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("get %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	return value, nil
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
