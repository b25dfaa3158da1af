package apiclient

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// maxPageSize is AccessOwl's largest page; iterators ask for it to spend the fewest requests.
const maxPageSize = 100

// ListOptions selects one page of a list. A zero Limit lets AccessOwl choose (20); limits over
// 100 are lowered to 100.
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o ListOptions) apply(q url.Values) url.Values {
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(o.Limit, maxPageSize)))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// listEnvelope is AccessOwl's list shape. A null or missing next_cursor means the last page.
type listEnvelope[T any] struct {
	Data []T `json:"data"`
	Meta struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"meta"`
}

// listPage fetches one page and returns its items and the next cursor, "" after the last page.
func listPage[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, string, error) {
	req, err := newRequest(http.MethodGet, path, query, nil, "")
	if err != nil {
		return nil, "", err
	}
	var env listEnvelope[T]
	if err := c.do(ctx, req, &env); err != nil {
		return nil, "", err
	}
	next := ""
	if env.Meta.NextCursor != nil {
		next = *env.Meta.NextCursor
	}
	return env.Data, next, nil
}

// listAll iterates every item from the page at cursor on, 100 to a page. It stops after the
// page whose next cursor is null (or empty), and yields ErrRepeatedCursor if AccessOwl hands
// back a cursor it gave before, which would otherwise loop forever.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values, cursor string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		for {
			if cursor != "" {
				if seen[cursor] {
					yield(zero, fmt.Errorf("accessowl: GET %s: %w: %q", c.base.JoinPath(path).Path, ErrRepeatedCursor, cursor))
					return
				}
				seen[cursor] = true
			}
			q := ListOptions{Limit: maxPageSize, Cursor: cursor}.apply(cloneValues(query))
			items, next, err := listPage[T](ctx, c, path, q)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			cursor = next
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q)+2)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// setIf adds a query parameter only when it has a value.
func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
