package bot

import (
	"strings"
	"testing"

	"revokebot/store"
	"revokebot/store/storetest"
)

func TestAButtonNamesItsRequestOnly(t *testing.T) {
	r := storetest.NewRequest(1)
	value, err := EncodeButton(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(value, r.Reason) || strings.Contains(value, r.Items[0].AccessStateID) {
		t.Errorf("button value %s carries the request; want its ID only", value)
	}
	got, err := DecodeButton(value)
	if err != nil {
		t.Fatal(err)
	}
	if got.RequestID != r.ID || got.Claims != nil {
		t.Errorf("decoded %+v, want the request's ID and no claims", got)
	}
}

// v1 is a button of the first layout, as messages posted before the upgrade still carry.
const v1 = `{"v":1,"id":"6ba7b812-9dad-11d1-80b4-00c04fd430c8","as":"s","rs":"left","g":"g","a":"a","q":"U1","c":"C1","t":0}`

func TestAnOldButtonIsReadAndJudgedAgainstTheStore(t *testing.T) {
	b, err := DecodeButton(v1)
	if err != nil {
		t.Fatal(err)
	}
	if b.RequestID.String() != "6ba7b812-9dad-11d1-80b4-00c04fd430c8" || b.Claims == nil {
		t.Fatalf("decoded %+v; want the ID and the claims", b)
	}
	stored := store.Request{ID: b.RequestID, RequesterID: "U1", Grantee: store.Person{AccessOwlID: "g"}, Reason: "left",
		Items: []store.Item{{AccessStateID: "s"}}}
	if d := b.Disagrees(stored); d != "" {
		t.Errorf("a button that agrees with the store disagrees on %s", d)
	}
	for field, change := range map[string]func(*store.Request){
		"requester": func(r *store.Request) { r.RequesterID = "U2" },
		"grantee":   func(r *store.Request) { r.Grantee.AccessOwlID = "other" },
		"reason":    func(r *store.Request) { r.Reason = "other" },
		"access":    func(r *store.Request) { r.Items = []store.Item{{AccessStateID: "other"}} },
	} {
		other := stored
		change(&other)
		if d := b.Disagrees(other); d != field {
			t.Errorf("a button disagreeing on its %s: Disagrees = %q", field, d)
		}
	}
}

func TestDecodeButtonRefusesWhatNamesNoRequest(t *testing.T) {
	tests := map[string]string{
		"not JSON":          `approve`,
		"another version":   strings.Replace(v1, `"v":1`, `"v":3`, 1),
		"bad request ID":    strings.Replace(v1, `6ba7b812-9dad-11d1-80b4-00c04fd430c8`, `nope`, 1),
		"no request ID":     `{"v":2}`,
		"over Slack's size": v1 + strings.Repeat(" ", maxButtonValue),
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			if b, err := DecodeButton(value); err == nil {
				t.Errorf("DecodeButton accepted %+v", b)
			}
		})
	}
}

// FuzzDecodeButton checks that no value, however mangled, panics the decoder, and that what it
// accepts names a request and encodes again to the same one.
func FuzzDecodeButton(f *testing.F) {
	value, err := EncodeButton(storetest.NewRequest(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(value)
	f.Add(v1)
	f.Add(`{"v":1}`)
	f.Add(`{"v":2,"id":"6ba7b812-9dad-11d1-80b4-00c04fd430c8","as":"s"}`)
	f.Fuzz(func(t *testing.T, value string) {
		b, err := DecodeButton(value)
		if err != nil {
			return
		}
		again, err := EncodeButton(store.Request{ID: b.RequestID})
		if err != nil {
			t.Fatalf("a decoded button does not encode again: %v", err)
		}
		if back, err := DecodeButton(again); err != nil || back.RequestID != b.RequestID {
			t.Fatalf("round trip changed the request: %+v, %v", back, err)
		}
	})
}
