package analytics

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeFactsRow reads what json.Marshal wrote of a factsRow exactly as
// json.Unmarshal would, and refuses what is not JSON.
func TestFactsRowsDecodeAsEncodingJSONWould(t *testing.T) {
	for _, d := range []factsRow{
		{},
		{OpenedAt: 1764000000000000, QueuedAt: 1764000000000001, AssignedAt: 1764000000120000, FirstReplyAt: 1764000000180000,
			ClosedAt: 1764000001800000, FirstAt: 1764000000000000, LastAt: 1764000001800000, WithBot: true, HandedOff: true, HadAgent: true,
			Skill: "skl_billing", Assignee: "usr_1", Messages: 17, CSAT: 5,
			Holds:  []holdRow{{Agent: "usr_1", Skill: "skl_billing", From: 1764000000120000, Until: 1764000000900000}, {Agent: "usr_2", From: 1764000000900000}},
			Labels: []string{"refund", "vip"}, Engagement: "boots", Categories: map[string]string{"reason": "Damaged", "refund": "true"}},
		{Skill: `a "quoted" \\ skill é ✓`, Assignee: "usr_\u2028x", Messages: 1},
	} {
		raw, _ := json.Marshal(d)
		var want factsRow
		json.Unmarshal(raw, &want)
		got, err := decodeFactsRow(raw)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeFactsRow(%s) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{``, `{`, `{"opened_at":}`, `not json`} {
		if _, err := decodeFactsRow([]byte(bad)); err == nil {
			t.Errorf("decodeFactsRow(%q) took it", bad)
		}
	}
}
