// Package commands holds the /revoke grammar: a pure parser from the text a person typed to the
// command they meant, the help text, and the answers that tell a person how to fix their input.
// It does no I/O: resolving a person or an application to AccessOwl IDs happens elsewhere, after
// the text is known to be well formed.
package commands
