// Package commands holds the /revoke grammar: a pure parser from the text a person typed to the
// command they meant, the help text, the answers that tell a person how to fix their input, and
// the matching of a typed application name against a person's accesses. It does no I/O:
// resolving a person or an access through Slack and AccessOwl happens in package interactions,
// after the text is known to be well formed.
package commands
