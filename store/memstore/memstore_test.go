package memstore_test

import (
	"testing"

	"revokebot/store"
	"revokebot/store/memstore"
	"revokebot/store/storetest"
)

func TestConforms(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}
