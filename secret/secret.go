// Package secret holds credentials in a type that never shows them: formatting, logging, JSON
// and text marshalling all print [redacted]. Only Reveal returns the value, so every place that
// needs the real token is easy to find.
package secret

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Token is a credential such as an API token. The zero value is an empty token.
type Token struct {
	value string
}

// New wraps a credential.
func New(value string) Token { return Token{value: value} }

// Reveal returns the credential itself, for the one place that sends it.
func (t Token) Reveal() string { return t.value }

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.value == "" }

// String returns [redacted], or "" for an empty token so that "missing" stays visible.
func (t Token) String() string {
	if t.value == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the struct's field.
func (t Token) GoString() string { return "secret.Token(" + t.String() + ")" }

// Format makes every verb, %x and %q included, print what String prints.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, t.GoString())
		return
	}
	fmt.Fprint(f, t.String())
}

// LogValue keeps slog from printing the value.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText keeps JSON, YAML and friends from printing the value.
func (t Token) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a credential, so configuration loaders (envconfig, flags) can fill it.
func (t *Token) UnmarshalText(text []byte) error {
	t.value = string(text)
	return nil
}
