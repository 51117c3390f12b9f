package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// pasteJS pastes a PNG into the element as a screenshot tool's copy does:
// a paste event whose clipboard holds a file.
func pasteJS(selector, name string) string {
	bytes := make([]string, len(pngBytes))
	for i, b := range pngBytes {
		bytes[i] = strconv.Itoa(int(b))
	}
	return `(() => { const dt = new DataTransfer();
		dt.items.add(new File([new Uint8Array([` + strings.Join(bytes, ",") + `])], "` + name + `", { type: "image/png" }));
		const ev = new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true });
		document.querySelector("` + selector + `").dispatchEvent(ev);
		return ev.defaultPrevented })()`
}

// A screenshot pasted into the reply box in the console, and into the
// widget's composer, is sent as a file.
func TestAPastedScreenshotIsSent(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "It shows this error:")
	if !evalIn[bool](t, frame, pasteJS("#text", "error.png")) {
		t.Fatal("the widget let the browser paste the file as text")
	}
	var conv *parley.Conversation
	sent := func(kind parley.SenderKind, name string) func() bool {
		return func() bool {
			list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5})
			if len(list) == 0 {
				return false
			}
			conv = list[0]
			for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
				if m.Type == parley.MessageFile && m.SenderKind == kind && m.Attachment != nil && m.Attachment.Name == name {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, sent(parley.SenderConsumer, "error.png"), func() string { return evalIn[string](t, frame, `document.querySelector(".limit").textContent`) })

	// Online in the console first: an assigned agent who is not connected
	// may see the conversation go back to the queue.
	b := consoleLogin(t, ts, brand.agent, ".app")
	waitFor(t, func() bool { return ts.Routing.Presence(brand.account.ID, brand.agent.ID) == "online" })
	if st := ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: status %d", st)
	}
	b.openFirst("mine")
	// The tab's list may still be the one drawn before the accept: paste
	// once the console holds the conversation as the agent's.
	waitFor(t, func() bool {
		return strings.HasPrefix(evalIn[string](t, b.ctx, `document.querySelector(".conv-state").textContent`), "assigned")
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".conv-state").textContent`) })
	if !evalIn[bool](t, b.ctx, pasteJS("#reply-text", "where-to-click.png")) {
		t.Fatal("the console let the browser paste the file as text")
	}
	waitFor(t, sent(parley.SenderAgent, "where-to-click.png"), func() string { return evalIn[string](t, b.ctx, `document.querySelector(".reply-error").textContent`) })
}

// TestAFileSentWithTheFirstMessageJoinsItsConversation: a visitor whose
// first message is still opening the conversation (the socket's open has
// no answer yet) pastes a screenshot at once; both land in one
// conversation, not two.
func TestAFileSentWithTheFirstMessageJoinsItsConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS("#text"))); err != nil {
		t.Fatal(err)
	}
	// The message and the paste in one turn of the page's event loop: no
	// answer from the server can come between them.
	if !evalIn[bool](t, frame, `(() => { document.querySelector("#text").value = "It shows this error:";
		document.querySelector(".composer").requestSubmit();
		return `+pasteJS("#text", "error.png")+` })()`) {
		t.Fatal("the widget let the browser paste the file as text")
	}
	waitFor(t, func() bool {
		list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5})
		if len(list) != 1 {
			return false
		}
		var text, file bool
		for _, m := range mustMessages(t, ts, brand.account.ID, list[0].ID) {
			text = text || m.Text == "It shows this error:"
			file = file || (m.Type == parley.MessageFile && m.Attachment != nil && m.Attachment.Name == "error.png")
		}
		return text && file
	}, func() string {
		list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5})
		return fmt.Sprintf("%d conversations", len(list))
	})
	if list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{Limit: 5}); len(list) != 1 {
		t.Fatalf("%d conversations, want one", len(list))
	}
}
