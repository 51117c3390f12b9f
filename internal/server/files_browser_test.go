package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// The console shows the image a visitor sent (a thumbnail that opens it),
// and the agent sends a file back from the composer's Attach.
func TestAnAgentSeesAndSendsFilesInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/attachments?name=screen.png&client_id=f1", pngBytes, nil); st != 201 {
		t.Fatalf("the visitor's file: %d", st)
	}
	ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)

	b := consoleLogin(t, ts, brand.agent, ".app")
	b.openFirst("mine")
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `(() => { const img = document.querySelector(".messages .file img");
			return !!img && img.complete && img.naturalWidth === 1 && img.closest("a").textContent.startsWith("📎 screen.png") })()`)
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".messages").innerHTML`) })

	file := filepath.Join(t.TempDir(), "invoice.png")
	if err := os.WriteFile(file, pngBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS(".attach-file"), []string{file}))
	waitFor(t, func() bool {
		for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
			if m.Type == parley.MessageFile && m.SenderKind == parley.SenderAgent && m.Attachment != nil && m.Attachment.Name == "invoice.png" {
				return true
			}
		}
		return false
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".reply-error").textContent`) })
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".messages").textContent`), "📎 invoice.png")
	})
}
