// Package interactions handles what people do with revokebot's Slack surfaces: the /revoke
// modal, the Approve and Reject buttons, the approver policy that decides who may click them,
// and the submission an approval triggers.
package interactions
