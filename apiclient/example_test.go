package apiclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"revokebot/apiclient"
	"revokebot/secret"
)

// Submitting a revocation exactly once: the request's own ID is the key, so every retry, replica
// and restart sends the same key with the same body, and a 409 says whose attempt got there.
func ExampleClient_CreateRevocation() {
	c, err := apiclient.New("https://api.accessowl.com", secret.New("token from the environment"),
		apiclient.WithVersion("1.0.0"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	requestID := "5d0c6bb2-3f51-5d3c-9a57-1d6f0c9c1e7a"
	state := apiclient.AccessState{ID: "…", ApplicationID: "…"}
	grantee := "…"
	reason := "left the team"

	rev, err := c.CreateRevocation(ctx, requestID, apiclient.NewRevocation{AccessStateID: state.ID, Reason: reason})
	var already *apiclient.AlreadySubmittedError
	switch {
	case err == nil:
		fmt.Println("submitted", rev.ID)
	case errors.As(err, &already) && already.EarlierAttemptUnseen:
		// Our own first attempt got through but its answer was lost: find what it created.
		rev, err = c.FindRevocation(ctx, apiclient.RevocationQuery{
			GranteeUserID: grantee, ApplicationID: state.ApplicationID, Reason: reason,
			ResourceID: "", // the access state's resource, "" when it is application-wide
			Since:      already.FirstAttemptAt,
		})
		fmt.Println("submitted earlier", rev, err)
	case errors.Is(err, apiclient.ErrAlreadySubmitted):
		fmt.Println("already submitted")
	case errors.Is(err, apiclient.ErrInvalidRequest):
		var apiErr *apiclient.Error
		errors.As(err, &apiErr)
		fmt.Println("AccessOwl refused:", apiErr.Message)
	default:
		fmt.Println("failed:", err)
	}
}

// A poller marks its context as background work, so people's calls go first, and plans its next
// sweep from BackgroundDelay instead of queueing blindly.
func ExampleBackground() {
	c, err := apiclient.New("https://api.accessowl.com", secret.New("token from the environment"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := apiclient.Background(context.Background())
	for rev, err := range c.AllRevocations(ctx, apiclient.RevocationListOptions{Status: apiclient.RevocationProcessing}) {
		if err != nil {
			log.Print(err)
			break
		}
		fmt.Println(rev.ID, rev.Status)
	}
	next := max(15*time.Second, c.BackgroundDelay())
	fmt.Println("next sweep in", next)
}
