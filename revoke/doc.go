// Package revoke is the revocation lifecycle, with no Slack in it. A request is stored and its
// approval message posted; an approver's decision is a compare-and-set; an approval submits one
// AccessOwl revocation per access, exactly once, whatever AccessOwl answers; each revocation is
// tracked until AccessOwl closes it; a request nobody decides expires. Service does all of it
// and tells a Notifier what happened: package bot implements the Notifier for Slack, and the
// tests here use a recording one.
//
// Exactly once rests on three things, each in the store: the decision's compare-and-set, an
// Idempotency-Key derived from the request (so every attempt anywhere sends the same key and
// body, and AccessOwl's 409 says it saw it), and a claim before every thread reply (so a reply
// is posted once across restarts and replicas, and a crash between claim and post is recovered
// by looking for the reply in the thread).
package revoke
