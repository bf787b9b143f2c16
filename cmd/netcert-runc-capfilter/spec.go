package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// capabilityLists are the lists of an OCI "capabilities" object.
var capabilityLists = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

// filterCapabilities removes from the capability lists found at capsPath in
// doc (a decoded JSON object) every known capability that bnd lacks. It
// returns the removed names (one entry per list and name) and leaves doc
// untouched when there is nothing to remove. A missing or null path or list
// is not an error; a value of an unexpected type is.
func filterCapabilities(doc map[string]any, capsPath []string, bnd capSet) ([]string, error) {
	obj := doc
	for i, key := range capsPath {
		v, ok := obj[key]
		if !ok || v == nil {
			return nil, nil
		}
		next, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf(".%s is a %s, not an object", joinPath(capsPath[:i+1]), jsonType(v))
		}
		obj = next
	}
	var removed []string
	for _, list := range capabilityLists {
		v, ok := obj[list]
		if !ok || v == nil {
			continue
		}
		caps, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf(".%s.%s is a %s, not an array", joinPath(capsPath), list, jsonType(v))
		}
		kept := make([]any, 0, len(caps))
		for _, c := range caps {
			name, ok := c.(string)
			if !ok {
				return nil, fmt.Errorf(".%s.%s holds a %s, not a capability name", joinPath(capsPath), list, jsonType(c))
			}
			if n, known := capNumber(name); known && !bnd.has(n) {
				removed = append(removed, list+":"+name)
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) != len(caps) {
			obj[list] = kept
		}
	}
	return removed, nil
}

func joinPath(p []string) string { return strings.Join(p, ".") }

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// decodeJSON decodes one JSON object, keeping numbers verbatim (json.Number)
// so that large integers such as memory limits survive the round trip.
func decodeJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return doc, nil
}

func encodeJSON(doc map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// filterSpecFile applies filterCapabilities to the JSON file at path and, if
// anything was removed, replaces the file atomically (same directory,
// temporary file, rename), keeping its mode and owner.
func filterSpecFile(path string, capsPath []string, bnd capSet) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	removed, err := filterCapabilities(doc, capsPath, bnd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	out, err := encodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := replaceFile(path, out); err != nil {
		return nil, err
	}
	return removed, nil
}

// replaceFile atomically replaces the file at path with data.
func replaceFile(path string, data []byte) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".capfilter-*")
	if err != nil {
		return fmt.Errorf("rewriting %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("rewriting %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
		if err = tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
