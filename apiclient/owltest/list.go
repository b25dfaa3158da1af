package owltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
)

const (
	defaultLimit = 20
	maxLimit     = 100
)

// cursor is where a list page ends. On the wire it is opaque: base64 of the list's name, a
// digest of its filter, the position after the last item sent and a checksum, so a cursor can be
// neither forged from an offset nor edited nor reused for another list or filter (all 400).
type cursor struct {
	list   string
	filter [8]byte
	after  uint32
}

const cursorMagic = "owl1:"

func filterDigest(list string, filter []string) [8]byte {
	sum := sha256.Sum256([]byte(list + "\x00" + strings.Join(filter, "\x00")))
	return [8]byte(sum[:8])
}

func (c cursor) encode() string {
	b := []byte(cursorMagic + c.list + ":")
	b = append(b, c.filter[:]...)
	b = binary.BigEndian.AppendUint32(b, c.after)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(append(b, sum[:4]...))
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 4 {
		return cursor{}, false
	}
	b, check := b[:len(b)-4], b[len(b)-4:]
	if sum := sha256.Sum256(b); !bytes.Equal(sum[:4], check) {
		return cursor{}, false
	}
	rest, ok := bytes.CutPrefix(b, []byte(cursorMagic))
	if !ok {
		return cursor{}, false
	}
	list, tail, ok := bytes.Cut(rest, []byte(":"))
	if !ok || len(tail) != 12 {
		return cursor{}, false
	}
	return cursor{
		list:   string(list),
		filter: [8]byte(tail[:8]),
		after:  binary.BigEndian.Uint32(tail[8:]),
	}, true
}

// list answers one page of a list endpoint: {"data": [...], "meta": {"limit", "next_cursor"}}.
// Items keep the order they were added in, so a page boundary stays put while new items are
// added behind it. keep reports whether item i is in the list and renders it. Callers hold f.mu.
func (f *Fake) list(req request, name string, filter []string, n int, keep func(i int) (any, bool)) response {
	limit := defaultLimit
	if s := req.query.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return validationResponse(http.StatusBadRequest, "limit", "must be a positive integer")
		}
		// Over the maximum is served at the maximum, as AccessOwl documents a cap, not an error.
		limit = min(v, maxLimit)
	}
	digest := filterDigest(name, filter)
	start := 0
	if s := req.query.Get("cursor"); s != "" {
		c, ok := decodeCursor(s)
		if !ok || c.list != name || c.filter != digest || int(c.after) > n {
			return validationResponse(http.StatusBadRequest, "cursor", "is invalid")
		}
		start = int(c.after)
	}
	data := []any{}
	var next *string
	after := start
	for i := start; i < n; i++ {
		item, ok := keep(i)
		if !ok {
			continue
		}
		if len(data) == limit {
			// There is at least one more item, so there is a next page: it starts after the last
			// item sent. The last page therefore always has next_cursor null.
			s := cursor{list: name, filter: digest, after: uint32(after)}.encode()
			next = &s
			break
		}
		data = append(data, item)
		after = i + 1
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]any{"limit": limit, "next_cursor": next},
	})
}
