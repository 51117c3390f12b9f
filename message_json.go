package parley

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends m encoded as encoding/json encodes it, byte for byte,
// without reflection. The store's one writer encodes every message it
// writes into the message's event, and every other message waits while it
// does: json.Marshal there was a twentieth of the writer's time under
// parley bench's max (docs/performance.md, session 35). The rich parts,
// rare, still go through encoding/json. TestMessagesEncodeAsEncodingJSONWould
// checks the bytes for every field.
func (m *Message) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, m.ID)
	b = append(b, `,"account_id":`...)
	b = AppendJSONString(b, m.AccountID)
	b = append(b, `,"conversation_id":`...)
	b = AppendJSONString(b, m.ConversationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"sender_kind":`...)
	b = AppendJSONString(b, string(m.SenderKind))
	b = appendOptionalString(b, `,"sender_id":`, m.SenderID)
	b = appendOptionalString(b, `,"sender_name":`, m.SenderName)
	b = appendOptionalString(b, `,"client_id":`, m.ClientID)
	b = append(b, `,"type":`...)
	b = AppendJSONString(b, string(m.Type))
	b = appendOptionalString(b, `,"text":`, m.Text)
	b = appendOptionalString(b, `,"html":`, m.HTML)
	if len(m.Choices) > 0 {
		b = appendMarshaled(b, `,"choices":`, m.Choices)
	}
	if m.Card != nil {
		b = appendMarshaled(b, `,"card":`, m.Card)
	}
	if m.Attachment != nil {
		b = appendMarshaled(b, `,"attachment":`, m.Attachment)
	}
	if m.Notice != nil {
		b = appendMarshaled(b, `,"notice":`, m.Notice)
	}
	if m.Redacted != nil {
		b = appendMarshaled(b, `,"redacted":`, m.Redacted)
	}
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, m.CreatedAt)
	return append(b, '}')
}

// JSONSize is about the length of m's JSON, and never less when no string
// needs escaping and m has no rich parts: the keys, quotes, seq and time
// take under 224 bytes. A buffer of this capacity takes AppendJSON's output
// without growing; a fixed guess fell short and grew it a second time,
// copying it, for a seventh of the bytes the server allocated under parley
// bench's max (docs/performance.md, session 36).
func (m *Message) JSONSize() int {
	return 224 + len(m.ID) + len(m.AccountID) + len(m.ConversationID) + len(m.SenderKind) + len(m.SenderID) +
		len(m.SenderName) + len(m.ClientID) + len(m.Type) + len(m.Text) + len(m.HTML)
}

func appendOptionalString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return AppendJSONString(append(b, key...), s)
}

func appendMarshaled(b []byte, key string, v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil { // none of the rich parts has a value encoding/json refuses
		panic(err)
	}
	return append(append(b, key...), enc...)
}

// appendJSONTime appends t as time.Time's MarshalJSON does for the years
// 0 to 9999 (RFC 3339 with nanoseconds, quoted).
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		enc, err := t.MarshalJSON()
		if err != nil {
			panic(err)
		}
		return append(b, enc...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendJSONString appends s as a JSON string the way encoding/json writes
// one: <, > and & escaped for HTML, U+2028 and U+2029 escaped, invalid
// UTF-8 replaced by U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
