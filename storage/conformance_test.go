package storage_test

import (
	"path/filepath"
	"testing"

	"kimibot/storage"
	"kimibot/storage/storagetest"
	"kimibot/storage/storetest"
)

// TestConformance runs the store conformance suite against bbolt.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, o storetest.Options) storetest.Store {
		return storagetest.MustOpenAt(t, filepath.Join(t.TempDir(), "kimibot.db"),
			storage.Options{NoSync: true, EventTTL: o.EventTTL, Now: o.Now})
	})
}
