package fakeslack

import (
	"encoding/json"
)

// normalizeBlocks gives every block a block_id and every interactive element an action_id,
// as Slack does when it stores blocks that lack them, so that payloads always carry both.
func normalizeBlocks(raw json.RawMessage) json.RawMessage {
	var blocks []map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil {
		return raw
	}
	changed := false
	ensure := func(m map[string]any, key string) {
		if str(m, key) == "" {
			m[key] = randomToken(3)
			changed = true
		}
	}
	for _, b := range blocks {
		ensure(b, "block_id")
		forEachElement(b, func(e map[string]any, _ bool) {
			if t := str(e, "type"); t != "" && t != "image" && t != "plain_text" && t != "mrkdwn" {
				ensure(e, "action_id")
			}
		})
	}
	if !changed {
		return raw
	}
	out, err := json.Marshal(blocks)
	if err != nil {
		return raw
	}
	return out
}

// forEachElement calls fn for each interactive element of a block; dispatches says whether
// choosing in it sends block_actions at once (actions blocks, section accessories, and input
// blocks with dispatch_action) rather than only at submission.
func forEachElement(b map[string]any, fn func(e map[string]any, dispatches bool)) {
	switch str(b, "type") {
	case "actions":
		for _, e := range list(b, "elements") {
			if em, ok := e.(map[string]any); ok {
				fn(em, true)
			}
		}
	case "section":
		if acc := obj(b, "accessory"); acc != nil {
			fn(acc, true)
		}
	case "input":
		if el := obj(b, "element"); el != nil {
			d, _ := b["dispatch_action"].(bool)
			fn(el, d)
		}
	}
}

// element is an interactive element found in a surface's blocks.
type element struct {
	blockID    string
	blockType  string
	spec       map[string]any
	dispatches bool
	optional   bool // an input block a person may leave empty
}

// findElement looks for an element whose action_id is key or, for buttons, whose text is key.
func findElement(raw json.RawMessage, key string) (element, bool) {
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) != nil {
		return element{}, false
	}
	var found element
	ok := false
	for _, b := range blocks {
		forEachElement(b, func(e map[string]any, dispatches bool) {
			if ok {
				return
			}
			text, _ := textOf(e, "text")
			if str(e, "action_id") == key || (str(e, "type") == "button" && text == key) {
				found, ok = element{blockID: str(b, "block_id"), blockType: str(b, "type"), spec: e, dispatches: dispatches}, true
			}
		})
	}
	return found, ok
}

// inputElements lists the input blocks' elements of a view, for state and required checks.
func inputElements(raw json.RawMessage) []element {
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []element
	for _, b := range blocks {
		if str(b, "type") != "input" {
			continue
		}
		optional, _ := b["optional"].(bool)
		if el := obj(b, "element"); el != nil {
			out = append(out, element{blockID: str(b, "block_id"), blockType: "input", spec: el, optional: optional})
		}
	}
	return out
}

// emptyValue is how view state shows an element nobody has filled in.
func emptyValue(elementType string) json.RawMessage {
	key := "value"
	switch elementType {
	case "users_select", "external_select", "static_select", "conversations_select", "channels_select":
		key = map[string]string{
			"users_select": "selected_user", "external_select": "selected_option", "static_select": "selected_option",
			"conversations_select": "selected_conversation", "channels_select": "selected_channel",
		}[elementType]
	case "multi_users_select":
		key = "selected_users"
	case "multi_static_select", "multi_external_select", "checkboxes":
		key = "selected_options"
	case "datepicker":
		key = "selected_date"
	case "radio_buttons":
		key = "selected_option"
	}
	out, _ := json.Marshal(map[string]any{"type": elementType, key: nil})
	return out
}
