package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
	"revokebot/store/storetest"
)

func TestButtonCarriesWhatSubmissionNeeds(t *testing.T) {
	r := storetest.NewRequest(1)
	r.CreatedAt = r.CreatedAt.Truncate(time.Second)
	value, err := EncodeButton(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeButton(value)
	if err != nil {
		t.Fatal(err)
	}
	it := r.Items[0]
	want := store.Request{
		ID:          r.ID,
		RequesterID: r.RequesterID,
		Grantee:     store.Person{AccessOwlID: r.Grantee.AccessOwlID},
		Items:       []store.Item{{AccessStateID: it.AccessStateID, ApplicationID: it.ApplicationID, ResourceID: it.ResourceID}},
		Reason:      r.Reason,
		Channel:     r.Channel,
		CreatedAt:   r.CreatedAt,
		State:       store.Pending,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded button (-want +got):\n%s", diff)
	}
}

func TestTheLongestReasonFitsInAButton(t *testing.T) {
	r := storetest.NewRequest(1)
	// Control characters are the worst case: JSON writes each as six bytes.
	r.Reason = strings.Repeat("\u0001", 255)
	value, err := EncodeButton(r)
	if err != nil {
		t.Fatalf("EncodeButton with a 255-character reason: %v", err)
	}
	if len(value) > maxButtonValue {
		t.Fatalf("button value is %d bytes, over %d", len(value), maxButtonValue)
	}
}

func TestDecodeButtonRefusesWhatCannotBeSubmitted(t *testing.T) {
	valid := `{"v":1,"id":"6ba7b812-9dad-11d1-80b4-00c04fd430c8","as":"s","rs":"left","g":"g","a":"a","q":"U1","c":"C1","t":0}`
	if _, err := DecodeButton(valid); err != nil {
		t.Fatalf("the valid base case fails: %v", err)
	}
	tests := map[string]string{
		"not JSON":          `approve`,
		"another version":   strings.Replace(valid, `"v":1`, `"v":2`, 1),
		"bad request ID":    strings.Replace(valid, `6ba7b812-9dad-11d1-80b4-00c04fd430c8`, `nope`, 1),
		"no access state":   strings.Replace(valid, `"as":"s"`, `"as":""`, 1),
		"no reason":         strings.Replace(valid, `"rs":"left"`, `"rs":""`, 1),
		"reason too long":   strings.Replace(valid, `"rs":"left"`, `"rs":"`+strings.Repeat("x", 256)+`"`, 1),
		"no requester":      strings.Replace(valid, `"q":"U1"`, `"q":""`, 1),
		"over Slack's size": valid + strings.Repeat(" ", maxButtonValue),
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			if r, err := DecodeButton(value); err == nil {
				t.Errorf("DecodeButton accepted %+v", r)
			}
		})
	}
}

// FuzzDecodeButton checks that no value, however mangled, panics the decoder or yields a request
// that could not be submitted.
func FuzzDecodeButton(f *testing.F) {
	r := storetest.NewRequest(1)
	value, err := EncodeButton(r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(value)
	f.Add(`{"v":1}`)
	f.Add(`{"v":1,"id":"6ba7b812-9dad-11d1-80b4-00c04fd430c8","as":"s","rs":"é","g":"g","a":"a","q":"U1","c":"C1","t":-1}`)
	f.Fuzz(func(t *testing.T, value string) {
		r, err := DecodeButton(value)
		if err != nil {
			return
		}
		if len(r.Items) != 1 || r.Items[0].AccessStateID == "" || r.Reason == "" || r.RequesterID == "" || r.Grantee.AccessOwlID == "" {
			t.Fatalf("DecodeButton(%q) accepted an unsubmittable request %+v", value, r)
		}
		again, err := EncodeButton(r)
		if err != nil {
			t.Fatalf("a decoded button does not encode again: %v", err)
		}
		if back, err := DecodeButton(again); err != nil || back.ID != r.ID || back.Reason != r.Reason {
			t.Fatalf("round trip changed the request: %+v, %v", back, err)
		}
	})
}
