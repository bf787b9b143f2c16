package iproute

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonError names the line of out where JSON decoding failed.
func jsonError(cmd string, out []byte, err error) error {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 || offset > int64(len(out)) {
		return fmt.Errorf("parse %s: %w", cmd, err)
	}
	return fmt.Errorf("parse %s: line %d: %w", cmd, bytes.Count(out[:offset], []byte("\n"))+1, err)
}

// jsonText is a JSON scalar read as text: a string's value or a number's digits; null, true,
// false, objects and arrays read as "" (iproute2 prints some fields as a name or, lacking one, a
// number).
type jsonText string

func (t *jsonText) UnmarshalJSON(raw []byte) error {
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(raw, &s) == nil:
		*t = jsonText(s)
	case json.Unmarshal(raw, &n) == nil:
		*t = jsonText(n.String())
	default:
		*t = ""
	}
	return nil
}

func orDefault(s jsonText, def string) string {
	if s == "" {
		return def
	}
	return string(s)
}

// jsonString reads a JSON string or number as text; anything else reads as "".
func jsonString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

// jsonTexts is a JSON array of scalars read as text; anything else reads as no items.
type jsonTexts []jsonText

func (t *jsonTexts) UnmarshalJSON(raw []byte) error {
	var items []jsonText
	if json.Unmarshal(raw, &items) != nil {
		items = nil
	}
	*t = items
	return nil
}
