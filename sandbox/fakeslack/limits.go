package fakeslack

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Slack's documented limits (Block Kit reference, chat.postMessage and views.* docs).
const (
	maxMessageText     = 40000 // hard limit; Slack truncates beyond 4,000 in display
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxHeaderText      = 150
	maxActionsElements = 25
	maxContextElements = 10
	maxBlockID         = 255
	maxActionID        = 255
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxButtonURL       = 3000
	maxOptions         = 100
	maxOptionText      = 75
	maxOptionValue     = 150
	maxPlaceholder     = 150
	maxInputLabel      = 2000
	maxViewTitle       = 24
	maxViewButtonText  = 24
	maxPrivateMetadata = 3000
	maxCallbackID      = 255
	maxExternalID      = 255
	maxViewStack       = 3
)

// blockChecker walks Block Kit JSON and collects Slack-style schema messages.
type blockChecker struct {
	surface  string // "message" or "modal"
	pointer  string // json-pointer prefix, "/blocks" or "/view/blocks"
	messages []string
	blockIDs map[string]bool
}

func (c *blockChecker) errorf(ptr, format string, a ...any) {
	c.messages = append(c.messages, fmt.Sprintf("[ERROR] %s [json-pointer:%s]", fmt.Sprintf(format, a...), ptr))
}

func (c *blockChecker) maxLen(ptr, s string, limit int) {
	if utf8.RuneCountInString(s) > limit {
		c.errorf(ptr, "must be less than %d characters", limit+1)
	}
}

// checkBlocks validates a blocks array and returns Slack's messages for what is wrong; a
// nil result means valid. The bool is false when raw is not a JSON array of objects at all.
func checkBlocks(raw json.RawMessage, surface, pointer string, limit int) ([]string, bool) {
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, false
	}
	c := &blockChecker{surface: surface, pointer: pointer, blockIDs: map[string]bool{}}
	if len(blocks) > limit {
		c.errorf(pointer, "no more than %d items allowed", limit)
	}
	for i, b := range blocks {
		c.block(fmt.Sprintf("%s/%d", pointer, i), b)
	}
	return c.messages, true
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	return l
}

// textOf returns a text object's text.
func textOf(m map[string]any, k string) (string, bool) {
	t := obj(m, k)
	if t == nil {
		return "", false
	}
	return str(t, "text"), true
}

func (c *blockChecker) block(ptr string, b map[string]any) {
	if id := str(b, "block_id"); id != "" {
		c.maxLen(ptr+"/block_id", id, maxBlockID)
		if c.blockIDs[id] {
			c.errorf(ptr+"/block_id", "duplicate block_id %q", id)
		}
		c.blockIDs[id] = true
	}
	switch typ := str(b, "type"); typ {
	case "section":
		text, hasText := textOf(b, "text")
		fields := list(b, "fields")
		if !hasText && len(fields) == 0 {
			c.errorf(ptr, "must provide text or fields")
		}
		c.maxLen(ptr+"/text/text", text, maxSectionText)
		if len(fields) > maxSectionFields {
			c.errorf(ptr+"/fields", "no more than %d items allowed", maxSectionFields)
		}
		for i, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				c.maxLen(fmt.Sprintf("%s/fields/%d/text", ptr, i), str(fm, "text"), maxFieldText)
			}
		}
		if acc := obj(b, "accessory"); acc != nil {
			c.element(ptr+"/accessory", acc)
		}
	case "header":
		text, _ := textOf(b, "text")
		c.maxLen(ptr+"/text/text", text, maxHeaderText)
	case "actions":
		els := list(b, "elements")
		if len(els) == 0 {
			c.errorf(ptr+"/elements", "must provide at least 1 item")
		}
		if len(els) > maxActionsElements {
			c.errorf(ptr+"/elements", "no more than %d items allowed", maxActionsElements)
		}
		for i, e := range els {
			if em, ok := e.(map[string]any); ok {
				c.element(fmt.Sprintf("%s/elements/%d", ptr, i), em)
			}
		}
	case "context":
		if n := len(list(b, "elements")); n == 0 || n > maxContextElements {
			c.errorf(ptr+"/elements", "must provide between 1 and %d items", maxContextElements)
		}
	case "input":
		if c.surface == "message" {
			c.errorf(ptr, "input blocks are not allowed in messages")
		}
		label, ok := textOf(b, "label")
		if !ok {
			c.errorf(ptr+"/label", "must provide an object")
		}
		c.maxLen(ptr+"/label/text", label, maxInputLabel)
		el := obj(b, "element")
		if el == nil {
			c.errorf(ptr+"/element", "must provide an object")
		} else {
			c.element(ptr+"/element", el)
		}
	case "divider", "image", "rich_text", "file", "video", "markdown", "context_actions", "table":
	case "":
		c.errorf(ptr+"/type", "must provide a string")
	default:
		c.errorf(ptr+"/type", "unknown block type %q", typ)
	}
}

func (c *blockChecker) element(ptr string, e map[string]any) {
	c.maxLen(ptr+"/action_id", str(e, "action_id"), maxActionID)
	if p, ok := textOf(e, "placeholder"); ok {
		c.maxLen(ptr+"/placeholder/text", p, maxPlaceholder)
	}
	switch str(e, "type") {
	case "button":
		text, ok := textOf(e, "text")
		if !ok {
			c.errorf(ptr+"/text", "must provide an object")
		}
		c.maxLen(ptr+"/text/text", text, maxButtonText)
		c.maxLen(ptr+"/value", str(e, "value"), maxButtonValue)
		c.maxLen(ptr+"/url", str(e, "url"), maxButtonURL)
	case "static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow":
		opts := list(e, "options")
		if len(opts) > maxOptions {
			c.errorf(ptr+"/options", "no more than %d items allowed", maxOptions)
		}
		for i, o := range opts {
			if om, ok := o.(map[string]any); ok {
				t, _ := textOf(om, "text")
				c.maxLen(fmt.Sprintf("%s/options/%d/text/text", ptr, i), t, maxOptionText)
				c.maxLen(fmt.Sprintf("%s/options/%d/value", ptr, i), str(om, "value"), maxOptionValue)
			}
		}
	}
}

// checkView validates a modal view as views.open/update/push and response_action see it, and
// returns its schema messages (json-pointers under /view).
func checkView(v map[string]any, blocks json.RawMessage) []string {
	var msgs []string
	add := func(ptr, format string, a ...any) {
		msgs = append(msgs, fmt.Sprintf("[ERROR] %s [json-pointer:/view%s]", fmt.Sprintf(format, a...), ptr))
	}
	if t := str(v, "type"); t != "modal" {
		add("/type", "must be \"modal\"")
	}
	title, ok := textOf(v, "title")
	if !ok {
		add("/title", "must provide an object")
	}
	if utf8.RuneCountInString(title) > maxViewTitle {
		add("/title/text", "must be less than %d characters", maxViewTitle+1)
	}
	for _, k := range []string{"submit", "close"} {
		if t, ok := textOf(v, k); ok && utf8.RuneCountInString(t) > maxViewButtonText {
			add("/"+k+"/text", "must be less than %d characters", maxViewButtonText+1)
		}
	}
	if utf8.RuneCountInString(str(v, "private_metadata")) > maxPrivateMetadata {
		add("/private_metadata", "must be less than %d characters", maxPrivateMetadata+1)
	}
	if utf8.RuneCountInString(str(v, "callback_id")) > maxCallbackID {
		add("/callback_id", "must be less than %d characters", maxCallbackID+1)
	}
	if utf8.RuneCountInString(str(v, "external_id")) > maxExternalID {
		add("/external_id", "must be less than %d characters", maxExternalID+1)
	}
	if len(blocks) == 0 {
		add("/blocks", "must provide an array")
		return msgs
	}
	bm, ok := checkBlocks(blocks, "modal", "/view/blocks", maxViewBlocks)
	if !ok {
		add("/blocks", "must provide an array")
	}
	msgs = append(msgs, bm...)
	var bl []map[string]any
	_ = json.Unmarshal(blocks, &bl)
	for _, b := range bl {
		if str(b, "type") == "input" && obj(v, "submit") == nil {
			add("/submit", "must provide a submit button when the view has input blocks")
			break
		}
	}
	return msgs
}
