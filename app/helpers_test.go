package app

import (
	"fmt"
	"os"
	"testing"
)

func unsetenv(t *testing.T, key string) {
	t.Helper()
	old, had := os.LookupEnv(key)
	os.Unsetenv(key)
	t.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		}
	})
}

func validConfig(t *testing.T) Config {
	t.Helper()
	setEnv(t, validEnv)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fmtConfig(c Config) string { return fmt.Sprintf("%v %+v %#v", c, c, c) }
