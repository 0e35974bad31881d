package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// sameSyntaxError checks that err (from this package) reports what
// encoding/json's ref reports: the same message and offset, or no error.
func sameSyntaxError(t *testing.T, data []byte, err, ref error) {
	t.Helper()
	if (err == nil) != (ref == nil) {
		t.Fatalf("%.80q: jsonscan error %v, encoding/json error %v", data, err, ref)
	}
	if err == nil {
		return
	}
	var se *SyntaxError
	var jse *json.SyntaxError
	if !errors.As(err, &se) || !errors.As(ref, &jse) {
		t.Fatalf("%.80q: jsonscan error %T %v, encoding/json error %T %v", data, err, err, ref, ref)
	}
	if se.Msg != jse.Error() || int64(se.Offset) != jse.Offset {
		t.Fatalf("%.80q: jsonscan error %q at %d, encoding/json error %q at %d", data, se.Msg, se.Offset, jse.Error(), jse.Offset)
	}
}

// refCheck returns encoding/json's verdict on data with its syntax error.
func refCheck(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if err != nil && !errors.As(err, &se) {
		return nil // not a syntax error: e.g. a number that overflows float64
	}
	return err
}

func TestValidate(t *testing.T) {
	deep := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `-0.0e-0`, `1e400`, `01`, `-`, `1.`, `1e`, `1e+`, `.5`, `+1`,
		`true`, `tru`, `truex`, `nul`, `null `, ` null x`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\x"`, `"\u12G4"`,
		"\"a\x1fb\"", "\"\x7f\xff\xfe\"", `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1 "b":2}`, `[1 2]`, `{,}`, `{1:2}`,
		`{"a":[{"b":[true,false,null]}],"c":{}}`, "\t\r\n{ \"a\" : [ 1 , 2 ] }\n", `"abc`, `"abc\`, `"\u12`, `[`, `{"a"`,
		deep(MaxDepth, "[", "]"), deep(MaxDepth+1, "[", "]"), deep(MaxDepth, `{"a":`, "}")[:len(deep(MaxDepth, `{"a":`, "}"))-MaxDepth] + "1" + strings.Repeat("}", MaxDepth),
		deep(MaxDepth+1, "[", "]")[:MaxDepth+1], deep(300, "[", "]"), deep(300, `[{"a":`, "}]"),
	} {
		data := []byte(s)
		sameSyntaxError(t, data, Validate(data), refCheck(data))
		if Valid(data) != json.Valid(data) {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", s, Valid(data), json.Valid(data))
		}
	}
}

func TestSkipValueAllocs(t *testing.T) {
	data := []byte(`{"a":[1,2,{"b":"c\u00e9\n"}],"d":-1.5e3,"e":true,"f":null}`)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := SkipValue(data, 0, 0); err != nil {
			t.Fatal(err)
		}
		it := Members(data, 0, 1)
		for it.Next() {
		}
		var buf [32]byte
		if _, ok := UnquoteInto(buf[:0], []byte(`"c\u00e9\n"`)); !ok {
			t.Fatal("unquote")
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func TestMembers(t *testing.T) {
	data := []byte(` { "a" : 1 , "b\u0063":{"x":[]} ,"a":"s"} `)
	var keys, vals []string
	it := Members(data, 0, 1)
	for it.Next() {
		k, _ := Unquote(it.Key())
		keys, vals = append(keys, string(k)), append(vals, string(it.Value()))
		if got := string(data[it.ValueOffset() : it.ValueOffset()+len(it.Value())]); got != string(it.Value()) {
			t.Errorf("ValueOffset %d does not locate %s", it.ValueOffset(), it.Value())
		}
	}
	if it.Err() != nil || it.End() != len(data)-1 {
		t.Fatalf("Err %v End %d", it.Err(), it.End())
	}
	if strings.Join(keys, ",") != "a,bc,a" || strings.Join(vals, ",") != `1,{"x":[]},"s"` {
		t.Fatalf("keys %q values %q", keys, vals)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"a":1,}`, `{"a":}`, `{"a":1]`} {
		it := Members([]byte(bad), 0, 1)
		for it.Next() {
		}
		if it.Err() == nil {
			t.Errorf("Members(%q): no error", bad)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, s := range []string{
		`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`,
		`"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\ude00\ud83d"`, "\"\xff\"", "\"a\xe2\x82\"", "\"\xed\xa0\x80\"",
		"\"\xef\xbf\xbd\"", `"\u0000"`, "\"" + strings.Repeat("\xff", 40) + "\"",
	} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("reference %s: %v", s, err)
		}
		got, ok := Unquote([]byte(s))
		if !ok || string(got) != want {
			t.Errorf("Unquote(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{``, `"`, `"\'"`, `"\"`, `"a"b"`, "\"\n\"", `"\u12"`, `"\x"`, `abc`} {
		if got, ok := Unquote([]byte(s)); ok {
			t.Errorf("Unquote(%q) = %q, want failure", s, got)
		}
	}
	raw := []byte(`"plain"`)
	if got, _ := Unquote(raw); &got[0] != &raw[1] {
		t.Error("Unquote copied a plain string")
	}
}

// TestEqualFold checks EqualFold against encoding/json's matching of keys
// to a struct field, for every rune of the BMP against each ASCII letter.
func TestEqualFold(t *testing.T) {
	type fields struct {
		A int `json:"a"`
		K int `json:"k"`
		S int `json:"s"`
		I int `json:"i"`
	}
	step := rune(1)
	if testing.Short() {
		step = 7
	}
	for r := rune(0); r < 0x10000; r += step {
		if r == '"' || r == '\\' || r < 0x20 || !utf8.ValidRune(r) {
			continue
		}
		key := string(r)
		var f fields
		if err := json.Unmarshal([]byte(`{"`+key+`":1}`), &f); err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]int{"a": f.A, "k": f.K, "s": f.S, "i": f.I} {
			if EqualFold([]byte(key), name) != (got == 1) {
				t.Fatalf("EqualFold(%q, %q) = %v, encoding/json matched: %v", key, name, !(got == 1), got == 1)
			}
		}
	}
	for _, tc := range []struct {
		key, name string
		want      bool
	}{
		{"topicName", "topicName", true}, {"TOPICNAME", "topicName", true}, {"verſion", "version", true},
		{"\u212Aey", "key", true}, {"ıd", "id", false}, {"topicNam", "topicName", false}, {"topicNamee", "topicName", false},
		{"\xff", "\ufffd", true}, {"CorrelationID", "CorrelationId", true},
	} {
		if got := EqualFold([]byte(tc.key), tc.name); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v", tc.key, tc.name, got)
		}
	}
}

func TestInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "401", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616", "99999999999999999999", "1.0", "1e2", "-", ""} {
		var want int
		wantErr := json.Unmarshal([]byte(s), &want)
		got, ok := Int([]byte(s))
		if ok != (wantErr == nil) || got != want {
			t.Errorf("Int(%q) = %d, %v; encoding/json %d, %v", s, got, ok, want, wantErr)
		}
	}
}

// FuzzValid: Valid and Validate agree with encoding/json, error messages
// and offsets included, and SkipValue finds the value's end.
func FuzzValid(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c"}],"d":-1.5e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Validate(data)
		sameSyntaxError(t, data, err, refCheck(data))
		if Valid(data) != json.Valid(data) {
			t.Fatalf("Valid(%q) = %v, encoding/json %v", data, Valid(data), json.Valid(data))
		}
		if err != nil {
			return
		}
		end, err := SkipValue(data, 0, 0)
		if err != nil || SkipSpace(data, end) != len(data) {
			t.Fatalf("SkipValue(%q) = %d, %v", data, end, err)
		}
		if start := SkipSpace(data, 0); !json.Valid(data[start:end]) {
			t.Fatalf("SkipValue(%q) ends at %d", data, end)
		}
	})
}

// FuzzUnquote: a string token decodes exactly as encoding/json decodes it,
// and anything else is refused.
func FuzzUnquote(f *testing.F) {
	f.Add([]byte(`"a\u00e9\ud83d\ude00\n"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := Unquote(data)
		var buf [8]byte
		into, okInto := UnquoteInto(buf[:0], data)
		app, okApp := AppendUnquote([]byte("x"), data)
		if ok != okInto || ok != okApp || (ok && (!bytes.Equal(got, into) || string(app) != "x"+string(got))) {
			t.Fatalf("%q: Unquote %q %v, UnquoteInto %q %v, AppendUnquote %q %v", data, got, ok, into, okInto, app, okApp)
		}
		token := len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && json.Valid(data)
		if ok != token {
			t.Fatalf("Unquote(%q) ok = %v, but it is a string token: %v", data, ok, token)
		}
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("Unquote(%q) = %q, encoding/json %q", data, got, want)
		}
	})
}

// FuzzMembers: iterating an object accepts exactly the valid objects and
// yields the members encoding/json sees (the last duplicate wins).
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":[true]},"a":"x","\u0061":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		it := Members(data, 0, 1)
		got := map[string]string{}
		for it.Next() {
			k, ok := Unquote(it.Key())
			if !ok {
				t.Fatalf("%q: key %q does not unquote", data, it.Key())
			}
			got[string(k)] = string(it.Value())
		}
		start := SkipSpace(data, 0)
		isObject := start < len(data) && data[start] == '{'
		valid := it.Err() == nil && SkipSpace(data, it.End()) == len(data)
		if isObject {
			if valid != json.Valid(data) {
				t.Fatalf("Members(%q): err %v end %d, encoding/json valid %v", data, it.Err(), it.End(), json.Valid(data))
			}
			if it.Err() != nil {
				sameSyntaxError(t, data, it.Err(), refCheck(data))
			}
		} else if it.Err() == nil {
			t.Fatalf("Members(%q) accepted a non-object", data)
		}
		if !valid {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(got) {
			t.Fatalf("Members(%q) = %q, encoding/json %q", data, got, want)
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("Members(%q)[%q] = %s, encoding/json %s", data, k, got[k], v)
			}
		}
	})
}
