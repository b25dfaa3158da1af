package apiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decode stores a JSON body in v. Single objects come bare or wrapped as {"data": {...}}; if
// the top level holds an object under "data", that object is decoded. Lists keep their
// envelope, since their "data" is an array.
func decode(body []byte, v any) error {
	if v == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var top struct {
		Data dataProbe `json:"data"`
	}
	if json.Unmarshal(body, &top) == nil && top.Data.object != nil {
		body = top.Data.object
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("accessowl: decode response: %w", err)
	}
	return nil
}

// dataProbe finds an object under "data" without copying it: a page of a list is a few hundred
// kilobytes, and a json.RawMessage would copy its whole array only to learn it is not an
// object.
type dataProbe struct {
	object []byte // "data"'s value when it is an object, a slice of the body
}

// UnmarshalJSON keeps b, which encoding/json slices from the body that decode holds until the
// second decoding is done.
func (p *dataProbe) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		p.object = b
	}
	return nil
}
