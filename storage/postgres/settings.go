package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"kimibot/conversation"
)

// errInvalidSetting rejects scopes and names that cannot form a unique key.
var errInvalidSetting = errors.New("setting needs a scope kind, platform, id and a name without '/'")

// SetSetting stores value under name for scope; an empty value deletes it.
func (s *Store) SetSetting(ctx context.Context, scope conversation.Scope, name, value string) error {
	k, err := settingKey(scope, name)
	switch {
	case err != nil:
	case value == "":
		_, err = s.pool.Exec(ctx, `DELETE FROM kimibot_settings WHERE key = $1`, k)
	default:
		_, err = s.pool.Exec(ctx, `INSERT INTO kimibot_settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = $2`, k, value)
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
	var value string
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT value FROM kimibot_settings WHERE key = $1`, k).Scan(&value)
	}
	if noRows(err) {
		err = conversation.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("get %s of %s %s/%s: %w", name, scope.Kind, scope.Platform, scope.ID, err)
	}
	return value, nil
}

// settingKey is "kind/platform/id/name", as the bbolt store keys settings.
func settingKey(scope conversation.Scope, name string) (string, error) {
	if scope.Kind == "" || scope.Platform == "" || scope.ID == "" || name == "" ||
		strings.Contains(name, "/") || strings.Contains(string(scope.Kind), "/") ||
		strings.Contains(scope.Platform, "/") {
		return "", errInvalidSetting
	}
	return string(scope.Kind) + "/" + scope.Platform + "/" + scope.ID + "/" + name, nil
}
