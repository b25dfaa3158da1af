package revoke

import (
	"strconv"
	"strings"

	"revokebot/store"
)

// Kind is what an Event reports.
type Kind string

// The kinds of event a request's thread is told about.
const (
	// RequestPosted: the request's approval message, the one post of a request not in its
	// thread. Its claim is what lets a request stored but never posted be posted once.
	RequestPosted Kind = "request"
	// RequestRejected: an approver rejected the request (Request.DecidedBy).
	RequestRejected Kind = "rejected"
	// AccessRefused: AccessOwl refused to revoke an access, for good (Item.Refusal says why).
	AccessRefused Kind = "refused"
	// StatusChanged: a revocation has a new status (RevocationID, Status, Item).
	StatusChanged Kind = "status"
	// RequestExpired: nobody decided the request within the TTL.
	RequestExpired Kind = "expired"
	// ItemsListed: one page (Page, from 1) of the full list of a request's accesses, when its
	// approval message shows only part of them.
	ItemsListed Kind = "list"
	// Progress: the one reply of a request with several accesses that says where they all
	// stand, kept up to date in place rather than posted again.
	Progress Kind = "progress"
	// RequestFinished: every access of a request with several has reached its end (revoked,
	// rejected or refused); the requester is told how it ended, once.
	RequestFinished Kind = "final"
	// AdminsAsked: the one reply that asks the people who administer an admin-provisioned
	// application (Asked; the approvers when none of them is in Slack) to remove the access and
	// mark the revocation (RevocationID, Item), with buttons while it waits; it is brought up to
	// date, without them, once the revocation is final (Status).
	AdminsAsked Kind = "ask"
	// ApproversReminded: the Reminder-th reminder of an undecided request to its approvers.
	ApproversReminded Kind = "remind"
	// AdminsReminded: the Reminder-th reminder of a waiting admin-provisioned revocation
	// (RevocationID, Item) to the people its ask named (Asked).
	AdminsReminded Kind = "remind-admins"
)

// Event is something that happened to a request that its thread is told about, once.
type Event struct {
	Kind         Kind
	Item         store.Item // the access concerned, for AccessRefused and StatusChanged
	RevocationID string
	Status       store.Status
	Page         int // of ItemsListed
	// Asked are the Slack user IDs an AdminsAsked or AdminsReminded reply mentions; empty
	// means the approvers.
	Asked []string
	// Reminder counts the reminders of ApproversReminded and AdminsReminded, from 1.
	Reminder int
	// MarkedBy and Reason say, for a StatusChanged that a click in the thread caused, who
	// marked it and — for Could not revoke — why. AccessOwl does not return a rejection's
	// reason, so only the announcement the click makes can tell it; the key ignores both.
	MarkedBy, Reason string
}

// Key names the event uniquely within its request: the claim that makes its reply happen once.
func (e Event) Key() string {
	switch e.Kind {
	case StatusChanged:
		return string(StatusChanged) + "/" + e.RevocationID + "/" + string(e.Status)
	case AccessRefused:
		return string(AccessRefused) + "/" + e.Item.AccessStateID
	case ItemsListed:
		return string(ItemsListed) + "/" + strconv.Itoa(e.Page)
	case AdminsAsked:
		return string(AdminsAsked) + "/" + e.RevocationID
	case ApproversReminded:
		return string(ApproversReminded) + "/" + strconv.Itoa(e.Reminder)
	case AdminsReminded:
		return string(AdminsReminded) + "/" + e.RevocationID + "/" + strconv.Itoa(e.Reminder)
	default:
		return string(e.Kind)
	}
}

// eventOf rebuilds the event a claimed key names, from the request it belongs to; recovery
// needs it to look for, or post, a reply a crash left unrecorded.
func eventOf(r store.Request, key string) (Event, bool) {
	kind, rest, _ := strings.Cut(key, "/")
	switch Kind(kind) {
	case RequestPosted, RequestRejected, RequestExpired, Progress, RequestFinished:
		return Event{Kind: Kind(kind)}, rest == ""
	case ItemsListed:
		page, err := strconv.Atoi(rest)
		return Event{Kind: ItemsListed, Page: page}, err == nil && page > 0
	case AccessRefused:
		it, ok := r.Item(rest)
		return Event{Kind: AccessRefused, Item: it}, ok
	case ApproversReminded:
		n, err := strconv.Atoi(rest)
		return Event{Kind: ApproversReminded, Reminder: n}, err == nil && n > 0
	case AdminsAsked:
		it, ok := itemOfRevocation(r, rest)
		return Event{Kind: AdminsAsked, RevocationID: rest, Item: it}, ok
	case AdminsReminded:
		revocationID, count, _ := strings.Cut(rest, "/")
		n, err := strconv.Atoi(count)
		it, ok := itemOfRevocation(r, revocationID)
		return Event{Kind: AdminsReminded, RevocationID: revocationID, Item: it, Reminder: n}, ok && err == nil && n > 0
	case StatusChanged:
		revocationID, status, ok := strings.Cut(rest, "/")
		if !ok {
			return Event{}, false
		}
		// The item is known unless its revocation could not be recorded; the reply is still due.
		e := Event{Kind: StatusChanged, RevocationID: revocationID, Status: store.Status(status)}
		for _, it := range r.Items {
			if it.RevocationID == revocationID {
				e.Item = it
			}
		}
		return e, true
	}
	return Event{}, false
}

// itemOfRevocation returns the request's item that created a revocation.
func itemOfRevocation(r store.Request, revocationID string) (store.Item, bool) {
	for _, it := range r.Items {
		if revocationID != "" && it.RevocationID == revocationID {
			return it, true
		}
	}
	return store.Item{}, false
}
