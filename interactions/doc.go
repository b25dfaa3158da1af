// Package interactions turns what people do in Slack — /revoke, the request form, Approve and
// Reject — into requests and decisions. It resolves people and accesses through Slack and
// AccessOwl, applies the approver policy, hands what happens next to the revocation lifecycle
// (package revoke), and answers the person who acted. It renders nothing itself: Block Kit
// lives in package bot.
package interactions
