package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const value = "xoxb-very-secret-value"

func TestTokenNeverPrintsItsValue(t *testing.T) {
	tok := New(value)
	wrapped := fmt.Errorf("call failed: %w", errors.New("boom"))
	outputs := map[string]string{
		"%s":        fmt.Sprintf("%s", tok),
		"%v":        fmt.Sprintf("%v", tok),
		"%+v":       fmt.Sprintf("%+v", tok),
		"%#v":       fmt.Sprintf("%#v", tok),
		"%q":        fmt.Sprintf("%q", tok),
		"%x":        fmt.Sprintf("%x", tok),
		"in struct": fmt.Sprintf("%+v", struct{ T Token }{tok}),
		"pointer":   fmt.Sprintf("%v", &tok),
		"error":     fmt.Sprintf("%v: %s", wrapped, tok),
	}
	js, err := json.Marshal(struct{ T Token }{tok})
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(js)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("msg", "token", tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("msg", "token", tok, "group", struct{ T Token }{tok})
	outputs["slog"] = logs.String()

	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s leaks the token: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s does not say %s: %s", name, redacted, out)
		}
	}
}

func TestRevealReturnsTheValue(t *testing.T) {
	var tok Token
	if err := tok.UnmarshalText([]byte(value)); err != nil {
		t.Fatal(err)
	}
	if tok.Reveal() != value {
		t.Fatalf("Reveal() = %q, want %q", tok.Reveal(), value)
	}
}

func TestEmptyTokenPrintsEmpty(t *testing.T) {
	var tok Token
	if !tok.IsZero() || tok.String() != "" {
		t.Fatalf("zero token: IsZero=%v String=%q", tok.IsZero(), tok.String())
	}
}
