package owltest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"revokebot/apiclient/owltest"
)

// A revocation whose answer is lost after AccessOwl carried it out: the retry with the same key
// is told 409, and the revocation is there to be found.
func ExampleFault_dropAfterCommit() {
	srv := owltest.NewServer(owltest.WithAutomaticDelay(100 * time.Millisecond))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	farid, _ := srv.UserByEmail(owltest.SeedOffboardedEmail)
	access := srv.ActiveAccessStates(farid.ID)[0]
	srv.SetFault("POST /api/v1/access_revocations", owltest.Fault{DropAfterCommit: 1})

	submit := func() string {
		body := `{"access_state_id":"` + access.ID + `","reason":"Offboarding"}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/access_revocations", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+owltest.DefaultToken)
		req.Header.Set("Idempotency-Key", "request-42")
		resp, err := client.Do(req)
		if err != nil {
			return "no answer"
		}
		resp.Body.Close()
		return resp.Status
	}
	fmt.Println(submit())
	fmt.Println(submit())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Await(ctx, func(f *owltest.Fake) bool {
		for _, v := range f.Revocations() {
			if v.AccessStateID == access.ID && v.Status == owltest.Revoked {
				return true
			}
		}
		return false
	})
	fmt.Println(err, srv.Stats().RevocationsCreated)
	// Output:
	// no answer
	// 409 Conflict
	// <nil> 1
}
