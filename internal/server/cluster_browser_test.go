package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// TestTheWidgetOnOneNodeAndTheConsoleOnAnotherInChromium: what a person
// sees of a cluster. A visitor chats in the demo shop's widget served by
// node A; the agent answers in the console served by node B.
func TestTheWidgetOnOneNodeAndTheConsoleOnAnotherInChromium(t *testing.T) {
	nodeA, nodeB := startCluster(t)
	brand := seedBrand(t, nodeA, "Northwind")
	setAutoAssign(t, nodeA, brand, true)
	nodeA.Server.SetDemoAccount(brand.account.ID)

	console := newBrowser(t)
	console.do(chromedp.Navigate(nodeB.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".login-form")),
		chromedp.SendKeys(chromedp.CSS("input[name=email]"), brand.agent.Email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS(".login-form button")), chromedp.WaitVisible(chromedp.CSS(".app")))
	// Node A, where the visitor arrives, knows the agent on node B is online.
	waitFor(t, func() bool { return nodeA.Server.Routing.Presence(brand.account.ID, brand.agent.ID) == "online" })

	visitor := newBrowser(t)
	visitor.do(chromedp.Navigate(nodeA.url+"/demo/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := visitor.frame()
	chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Hello from node A\r"))
	waitFor(t, func() bool {
		convs, _ := nodeA.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateAssigned})
		return len(convs) == 1 && convs[0].AssigneeID == brand.agent.ID
	})
	console.openFirst("mine")
	console.do(chromedp.WaitVisible(chromedp.CSS(".messages li.consumer")))
	if got, _ := chromedp.Run(console.ctx, chromedp.Text(chromedp.CSS(".messages li.consumer .text"))); got != "Hello from node A" {
		t.Fatalf("the console on node B shows %q", got)
	}
	console.shot("console-on-node-b")
	console.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Hello from node B\r"))
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), "Hello from node B")
	})
	visitor.shot("widget-on-node-a")
}
