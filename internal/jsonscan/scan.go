// Package jsonscan is a minimal JSON scanner for hand-written decoders on
// hot paths. It accepts exactly the documents that encoding/json (v1)
// accepts — RFC 8259 grammar, control characters rejected in strings,
// invalid UTF-8 tolerated, nesting limited to MaxDepth — and it does not
// allocate, except to report an error or to grow a nesting stack deeper
// than 256 levels.
//
// The building blocks are [SkipValue] (validate one value and find its
// end), [Iter] (walk the members of one object), [Unquote] (decode a
// string token the way encoding/json does) and [EqualFold] (encoding/json's
// case-insensitive matching of object keys to struct fields).
package jsonscan

import (
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects that encoding/json
// accepts; the top-level container counts as depth 1.
const MaxDepth = 10000

// A SyntaxError reports malformed JSON. Like encoding/json's SyntaxError,
// Offset counts the bytes read when the error was found: the offending byte
// included, or the length of the input for an unexpected end.
type SyntaxError struct {
	Msg    string
	Offset int
}

// Error reports the message and where in the input it applies.
func (e *SyntaxError) Error() string {
	return "jsonscan: " + e.Msg + " (offset " + strconv.Itoa(e.Offset) + ")"
}

// A TypeError reports a well-formed JSON value of the wrong type for a
// field, the analogue of encoding/json's UnmarshalTypeError.
type TypeError struct {
	Value  string // "object", "array", "string", "number", "bool" or "null"
	Field  string // dotted path of the field, e.g. "metadata.CorrelationId"
	Type   string // the Go type of the field, e.g. "string"
	Offset int    // offset of the value in the decoded input
}

// Error names the value's kind, the field and its type.
func (e *TypeError) Error() string {
	return "jsonscan: cannot decode JSON " + e.Value + " into field " + e.Field + " of type " + e.Type
}

// KindOf names the kind of the JSON value that starts with value[0], in the
// words of TypeError.Value. It is meant for values returned by this package.
func KindOf(value []byte) string {
	if len(value) == 0 {
		return "nothing"
	}
	switch value[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func syntaxErr(msg string, off int) error { return &SyntaxError{Msg: msg, Offset: off} }

func eofErr(off int) error { return syntaxErr("unexpected end of JSON input", off) }

// spaceErr is the error at the end of input in the middle of a number,
// literal or escape: encoding/json feeds its scanner a space at the end
// and reports that.
func spaceErr(data []byte, context string) error {
	return syntaxErr("invalid character ' ' "+context, len(data))
}

func charErr(data []byte, i int, context string) error {
	return syntaxErr("invalid character "+quoteChar(data[i])+" "+context, i+1)
}

// quoteChar formats c as encoding/json does in its messages.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// strSafe[c] is true for bytes that may appear literally in a JSON string
// and need no attention: everything but control characters, '"' and '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plain[c] is true for bytes that a decoded string keeps as they are
// without further checks: printable ASCII other than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace, or len(data).
func SkipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// Valid reports whether data is one valid JSON value, optionally surrounded
// by whitespace. It agrees with encoding/json's Valid.
func Valid(data []byte) bool { return Validate(data) == nil }

// Validate is Valid with the reason: nil or a *SyntaxError.
func Validate(data []byte) error {
	end, err := SkipValue(data, 0, 0)
	if err != nil {
		return err
	}
	if i := SkipSpace(data, end); i < len(data) {
		return charErr(data, i, "after top-level value")
	}
	return nil
}

// scanString validates the string token that starts with the quote at
// data[i] and returns the offset just past its closing quote.
func scanString(data []byte, i int) (int, error) {
	i++
	for {
		for i+4 <= len(data) && strSafe[data[i]] && strSafe[data[i+1]] && strSafe[data[i+2]] && strSafe[data[i+3]] {
			i += 4
		}
		for i < len(data) && strSafe[data[i]] {
			i++
		}
		if i >= len(data) {
			return i, eofErr(i)
		}
		switch data[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++
			if i >= len(data) {
				return i, spaceErr(data, "in string escape code")
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				for k := 1; k <= 4; k++ {
					if i+k >= len(data) {
						return i + k, spaceErr(data, "in \\u hexadecimal character escape")
					}
					if hexVal(data[i+k]) < 0 {
						return i + k, charErr(data, i+k, "in \\u hexadecimal character escape")
					}
				}
				i += 5
			default:
				return i, charErr(data, i, "in string escape code")
			}
		default:
			return i, charErr(data, i, "in string literal")
		}
	}
}

func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// scanNumber validates the number token that starts at data[i] ('-' or a
// digit) and returns the offset just past it. Whatever follows is the
// caller's business, as in encoding/json's scanner.
func scanNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
		if i >= len(data) {
			return i, spaceErr(data, "in numeric literal")
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i++
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return i, charErr(data, i, "in numeric literal")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) {
			return i, spaceErr(data, "after decimal point in numeric literal")
		}
		if !isDigit(data[i]) {
			return i, charErr(data, i, "after decimal point in numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return i, spaceErr(data, "in exponent of numeric literal")
		}
		if !isDigit(data[i]) {
			return i, charErr(data, i, "in exponent of numeric literal")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

// scanLiteral checks that data[i:] starts with lit (true, false or null).
func scanLiteral(data []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(data) {
			return i + k, spaceErr(data, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
		if data[i+k] != lit[k] {
			return i + k, charErr(data, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// scanKey validates `"key" :` at data[i:] and returns the offset just past
// the colon.
func scanKey(data []byte, i int) (int, error) {
	if i >= len(data) {
		return i, eofErr(i)
	}
	if data[i] != '"' {
		return i, charErr(data, i, "looking for beginning of object key string")
	}
	i, err := scanString(data, i)
	if err != nil {
		return i, err
	}
	i = SkipSpace(data, i)
	if i >= len(data) {
		return i, eofErr(i)
	}
	if data[i] != ':' {
		return i, charErr(data, i, "after object key")
	}
	return i + 1, nil
}

// SkipValue validates the JSON value at data[i:] (leading whitespace is
// skipped) and returns the offset just past it; trailing whitespace is not
// consumed. depth is the number of arrays and objects that enclose the
// value (0 for a top-level value): like encoding/json, SkipValue fails when
// the nesting would exceed MaxDepth.
func SkipValue(data []byte, i, depth int) (int, error) {
	// kinds holds one bit per open container: 1 for an object, 0 for an
	// array. 256 levels live on the stack; deeper input grows the slice.
	var kindsBuf [4]uint64
	kinds := kindsBuf[:]
	n := 0 // open containers
	var err error
value:
	i = SkipSpace(data, i)
	if i >= len(data) {
		return i, eofErr(i)
	}
	switch c := data[i]; c {
	case '{', '[':
		if depth+n >= MaxDepth {
			return i, charErr(data, i, "exceeded max depth")
		}
		if n>>6 >= len(kinds) {
			kinds = append(kinds, 0)
		}
		if c == '{' {
			kinds[n>>6] |= 1 << (n & 63)
		} else {
			kinds[n>>6] &^= 1 << (n & 63)
		}
		n++
		i = SkipSpace(data, i+1)
		if c == '{' {
			if i < len(data) && data[i] == '}' {
				n--
				i++
				goto end
			}
			if i, err = scanKey(data, i); err != nil {
				return i, err
			}
		} else if i < len(data) && data[i] == ']' {
			n--
			i++
			goto end
		}
		goto value
	case '"':
		i, err = scanString(data, i)
	case 't':
		i, err = scanLiteral(data, i, "true")
	case 'f':
		i, err = scanLiteral(data, i, "false")
	case 'n':
		i, err = scanLiteral(data, i, "null")
	default:
		if c != '-' && !isDigit(c) {
			return i, charErr(data, i, "looking for beginning of value")
		}
		i, err = scanNumber(data, i)
	}
	if err != nil {
		return i, err
	}
end:
	if n == 0 {
		return i, nil
	}
	i = SkipSpace(data, i)
	if i >= len(data) {
		return i, eofErr(i)
	}
	if kinds[(n-1)>>6]&(1<<((n-1)&63)) != 0 {
		switch data[i] {
		case ',':
			if i, err = scanKey(data, SkipSpace(data, i+1)); err != nil {
				return i, err
			}
			goto value
		case '}':
			n--
			i++
			goto end
		}
		return i, charErr(data, i, "after object key:value pair")
	}
	switch data[i] {
	case ',':
		i++
		goto value
	case ']':
		n--
		i++
		goto end
	}
	return i, charErr(data, i, "after array element")
}

// An Iter walks the members of one JSON object, validating it on the way:
//
//	it := jsonscan.Members(data, 0, 1)
//	for it.Next() {
//		key, value := it.Key(), it.Value()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//	rest := data[it.End():]
type Iter struct {
	data     []byte
	pos      int
	depth    int
	state    uint8 // iterNew, iterMembers, iterDone
	key, val []byte
	valOff   int
	err      error
}

const (
	iterNew = iota
	iterMembers
	iterDone
)

// Members returns an Iter over the object at data[start:] (leading
// whitespace is skipped). depth is the nesting depth of the object itself:
// 1 for a top-level object.
func Members(data []byte, start, depth int) Iter {
	return Iter{data: data, pos: start, depth: depth}
}

// Next reads the next member and reports whether there was one. It returns
// false at the closing brace and on malformed input (see Err).
func (it *Iter) Next() bool {
	data := it.data
	var i int
	switch it.state {
	case iterNew:
		i = SkipSpace(data, it.pos)
		if i >= len(data) {
			return it.fail(eofErr(i))
		}
		if data[i] != '{' {
			return it.fail(charErr(data, i, "looking for beginning of object"))
		}
		if it.depth > MaxDepth {
			return it.fail(charErr(data, i, "exceeded max depth"))
		}
		i = SkipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			it.pos, it.state = i+1, iterDone
			return false
		}
		it.state = iterMembers
	case iterMembers:
		i = SkipSpace(data, it.pos)
		if i >= len(data) {
			return it.fail(eofErr(i))
		}
		switch data[i] {
		case '}':
			it.pos, it.state = i+1, iterDone
			return false
		case ',':
			i = SkipSpace(data, i+1)
		default:
			return it.fail(charErr(data, i, "after object key:value pair"))
		}
	default:
		return false
	}
	if i >= len(data) {
		return it.fail(eofErr(i))
	}
	if data[i] != '"' {
		return it.fail(charErr(data, i, "looking for beginning of object key string"))
	}
	end, err := scanString(data, i)
	if err != nil {
		return it.fail(err)
	}
	it.key = data[i:end]
	i = SkipSpace(data, end)
	if i >= len(data) {
		return it.fail(eofErr(i))
	}
	if data[i] != ':' {
		return it.fail(charErr(data, i, "after object key"))
	}
	i = SkipSpace(data, i+1)
	end, err = SkipValue(data, i, it.depth)
	if err != nil {
		return it.fail(err)
	}
	it.val, it.valOff, it.pos = data[i:end], i, end
	return true
}

func (it *Iter) fail(err error) bool {
	it.err, it.state, it.key, it.val = err, iterDone, nil, nil
	return false
}

// Key returns the current member's key as its raw string token, quotes
// included; decode it with Unquote or compare it with EqualFold.
func (it *Iter) Key() []byte { return it.key }

// Value returns the current member's value: its exact bytes, validated.
func (it *Iter) Value() []byte { return it.val }

// ValueOffset returns the offset of Value in the iterated data.
func (it *Iter) ValueOffset() int { return it.valOff }

// Err returns the syntax error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// End returns the offset just past the object's closing brace once Next
// has returned false without an error.
func (it *Iter) End() int { return it.pos }

// Unquote decodes the JSON string token raw (quotes included) exactly as
// encoding/json does: escapes are interpreted, and invalid UTF-8 as well
// as unpaired surrogate escapes become U+FFFD. When the contents need no
// decoding, the result is a sub-slice of raw; otherwise it is newly
// allocated. ok is false if raw is not a valid string token.
func Unquote(raw []byte) (s []byte, ok bool) { return UnquoteInto(nil, raw) }

// UnquoteString decodes a valid string token into a new string, through
// a buffer on the stack for short strings.
func UnquoteString(tok []byte) string {
	var buf [128]byte
	s, _ := UnquoteInto(buf[:0], tok)
	return string(s)
}

// UnquoteInto is Unquote that decodes into scratch[:0] (growing it only if
// it is too small) instead of allocating, for contents that need decoding.
// The result aliases raw or scratch.
func UnquoteInto(scratch, raw []byte) (s []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	c := raw[1 : len(raw)-1]
	r := plainPrefix(c)
	if r == len(c) {
		return c, true
	}
	if scratch == nil {
		scratch = make([]byte, 0, len(c)+2*utf8.UTFMax)
	}
	return appendUnquoted(append(scratch[:0], c[:r]...), c, r)
}

// AppendUnquote appends the decoded contents of the string token raw to
// dst; see Unquote.
func AppendUnquote(dst, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return dst, false
	}
	c := raw[1 : len(raw)-1]
	r := plainPrefix(c)
	dst = append(dst, c[:r]...)
	if r == len(c) {
		return dst, true
	}
	return appendUnquoted(dst, c, r)
}

// plainPrefix returns the length of the prefix of the string contents s
// that decodes to itself: no escapes, no control characters, valid UTF-8.
func plainPrefix(s []byte) int {
	r := 0
	for r < len(s) {
		c := s[r]
		if plain[c] {
			r++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	return r
}

// appendUnquoted decodes s[r:] onto b; it mirrors encoding/json's
// unquoteBytes, except that it rejects the escape \' which that function
// tolerates but the scanner never lets through.
func appendUnquoted(b, s []byte, r int) ([]byte, bool) {
	for r < len(s) {
		c := s[r]
		switch {
		case c == '\\':
			r++
			if r >= len(s) {
				return b, false
			}
			switch s[r] {
			case '"', '\\', '/':
				b = append(b, s[r])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				if rr < 0 {
					return b, false
				}
				r += 5
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						b = utf8.AppendRune(b, dec)
						r += 6
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default:
				return b, false
			}
			r++
		case c == '"' || c < ' ':
			return b, false
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b, true
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		v := hexVal(c)
		if v < 0 {
			return -1
		}
		r = r*16 + v
	}
	return r
}

// EqualFold reports whether encoding/json (v1) considers the decoded object
// key equal to the struct field name under case folding: ASCII letters
// compare upper-cased and other runes by their smallest simple-fold
// equivalent, so "ſ" (U+017F) matches 's' and "K" (U+212A) matches 'k'
// while "ı" (U+0131) matches nothing. encoding/json prefers an exact match
// over a fold match; a decoder whose field names are pairwise fold-distinct
// may simply test EqualFold for each field.
func EqualFold(key []byte, name string) bool {
	i, j := 0, 0
	for i < len(key) && j < len(name) {
		var a, b rune
		if c := key[i]; c < utf8.RuneSelf {
			a, i = rune(upper(c)), i+1
		} else {
			r, n := utf8.DecodeRune(key[i:])
			a, i = foldRune(r), i+n
		}
		if c := name[j]; c < utf8.RuneSelf {
			b, j = rune(upper(c)), j+1
		} else {
			r, n := utf8.DecodeRuneInString(name[j:])
			b, j = foldRune(r), j+n
		}
		if a != b {
			return false
		}
	}
	return i == len(key) && j == len(name)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldRune returns the smallest rune of r's simple-fold orbit, as
// encoding/json does.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// Int parses an integer number token as encoding/json does when it decodes
// into a Go int: a fraction or an exponent, or a value outside int's range,
// is refused (ok false).
func Int(num []byte) (v int, ok bool) {
	d := num
	neg := len(d) > 0 && d[0] == '-'
	if neg {
		d = d[1:]
	}
	if len(d) == 0 {
		return 0, false
	}
	const limit = 1 << 63
	var u uint64
	for _, c := range d {
		if !isDigit(c) {
			return 0, false
		}
		x := uint64(c - '0')
		if u > (limit-x)/10 {
			return 0, false
		}
		u = u*10 + x
	}
	if !neg && u == limit {
		return 0, false
	}
	n := int64(u)
	if neg {
		n = -n
	}
	if int64(int(n)) != n {
		return 0, false
	}
	return int(n), true
}
