// Package jsonx writes JSON the way every vexloom output is written: indented,
// not HTML-escaped, with a trailing newline, so that the same inputs give the
// same bytes.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Marshal encodes v as indented JSON without HTML escaping.
//
// Values whose MarshalJSON methods call json.Marshal internally (go-vex does)
// come back HTML-escaped from the standard encoder whatever it is told, so the
// result is decoded and encoded once more: object keys come out sorted and no
// "<", ">" or "&" is escaped.
func Marshal(v any) ([]byte, error) {
	var first bytes.Buffer
	enc := json.NewEncoder(&first)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&first)
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("re-reading encoded JSON: %w", err)
	}
	var out bytes.Buffer
	enc = json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(generic); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Write encodes v with Marshal and writes it to w.
func Write(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Compact is Marshal without indentation, for storage and hashing.
func Compact(v any) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Unmarshal decodes data into v keeping numbers exact (json.Number).
func Unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
