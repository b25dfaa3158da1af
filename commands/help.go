package commands

// HelpText is the answer to /revoke help, in Slack mrkdwn.
const HelpText = "*Revoke someone's access through AccessOwl*\n" +
	"• `/revoke` opens a form: pick the person, then one of their active accesses, then give a reason.\n" +
	"• " + usageByPerson + " finds the person's active access to that application, e.g. `/revoke @alex github left the team`. Quote names with spaces: `\"Google Workspace\"`.\n" +
	"• " + usageByState + " revokes one access state by its AccessOwl ID.\n" +
	"• " + usageAll + " revokes every active access of the person in one request (offboarding), e.g. `/revoke all @alex left the company`.\n" +
	"• " + usageStatus + " shows where a revocation stands.\n" +
	"Approvers decide in the revocations channel; you are told in the request's thread when the access is gone. Reasons are at most 255 characters."
