package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/bot"
)

// The demo brand's last week (docs/decisions.md, Session 21). A console
// with an empty inbox and a dashboard of zeros shows nothing of what a
// team sees on a Monday; Intercom's and Chatwoot's demo workspaces come
// with conversations. So the first start of `parley demo` writes a week
// of a small team's work through the store, with its clock set to when
// each thing happened: visitors asking the real demo bot (its answers are
// the bot's own, taken turn by turn), handoffs, three agents answering,
// labels and details, ratings, the widget's loads and the agents' working
// hours. It ends at the present: two visitors waiting in the queue, one
// conversation of the demo agent's where the visitor wrote last, and one
// visitor talking to the bot.

// demoClock is the seeding store's clock: the time it is set to, or the
// real time when it is not set.
type demoClock struct{ at atomic.Int64 }

func (c *demoClock) now() time.Time {
	if v := c.at.Load(); v != 0 {
		return time.UnixMicro(v).UTC()
	}
	return time.Now().UTC()
}

func (c *demoClock) set(t time.Time) { c.at.Store(t.UnixMicro()) }

// demoEvent is one thing that happened at a time; the week is written in
// time order, so that the event log reads as it would have been written.
type demoEvent struct {
	at time.Time
	do func() error
}

// demoTopic is what a visitor comes about: what they first ask the bot,
// what they tell a person, what the person answers, and how the agent
// files it.
type demoTopic struct {
	ask, explain, answer []string // answer[i] answers explain[i]
	label, topic         string
}

var demoTopics = []demoTopic{
	{ask: []string{"How long does shipping take?", "Is shipping free?", "Do you offer express shipping?", "How much is delivery?"},
		explain: []string{"I ordered last Monday and nothing has arrived yet.", "I need the jacket before Friday, is that possible?"},
		answer:  []string{"Let me check: your parcel left our warehouse yesterday, and the tracking link is on its way to your inbox.", "If you order before 2 pm with express delivery, it arrives tomorrow."},
		label:   "delivery", topic: "Delivery"},
	{ask: []string{"How do I return an item?", "What is your return policy?", "When do I get my refund?"},
		explain: []string{"The zip on my jacket broke after two days.", "I sent my return two weeks ago and I still have no refund."},
		answer:  []string{"I'm sorry about that! I've emailed you a free return label: drop the parcel at any post office.", "Your refund was issued today: it reaches your card within 5 working days."},
		label:   "returns", topic: "Returns"},
	{ask: []string{"What size should I order?", "Do your jackets run small?", "Where is the size chart?"},
		explain: []string{"I'm 182 cm with a 100 cm chest: M or L for the Ridge jacket?", "My usual size is S but the reviews say it runs small."},
		answer:  []string{"The Ridge runs true to size: with a 100 cm chest, the L gives you room for a fleece underneath.", "It's true to size: take your usual S, and if it doesn't fit, exchanges are free."},
		label:   "sizing", topic: "Sizing"},
	{ask: []string{"Can I pay with PayPal?", "Which payment methods do you accept?", "When is my card charged?"},
		explain: []string{"My card was charged twice for one order.", "Can I split the payment over two cards?"},
		answer:  []string{"I can see the second charge: it's a pre-authorisation and it disappears within 3 days.", "Not at checkout, but I can send you a payment link for part of it."},
		label:   "", topic: "Other"},
}

var (
	demoVisitorNames = []string{"Maya López", "Tom Becker", "Aiko Tanaka", "Lucas Martin", "Sofia Rossi", "Jonas Weber", "Chloé Dubois", "Oliver Smith",
		"Emma Jansen", "Noah Fischer", "Isabel García", "Liam O'Brien", "Hannah Schulz", "Mateo Silva", "Zoe Clarke", "Elias Novak",
		"Ava Moreau", "Leon Wagner", "Mia Kowalski", "Samuel Berg"}
	demoThanks       = []string{"Great, thanks!", "Perfect, thank you so much.", "OK, that helps.", "Thanks, have a nice day!"}
	demoGoodComments = []string{"Quick and friendly!", "Sorted in two minutes.", "", "", "Very helpful, thank you."}
	demoBadComments  = []string{"I waited too long for an answer.", "The bot didn't understand me.", ""}
)

// seedDemoHistory writes the week before now. team are the agents who
// answer; agent is the demo's own login, who holds the conversation left
// open for them.
func seedDemoHistory(ctx context.Context, store parley.Store, clock *demoClock, acc *parley.Account, team []*parley.User, agent *parley.User) error {
	rt := bot.NewRuntime(store, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	rng := rand.New(rand.NewPCG(2026, 11))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	now := time.Now().UTC()
	var plan []demoEvent
	at := func(t time.Time, do func() error) { plan = append(plan, demoEvent{at: t, do: do}) }

	// Working hours: each agent in at about 9, away for lunch, out at 17:30.
	for d := 6; d >= 0; d-- {
		day := now.Truncate(24*time.Hour).AddDate(0, 0, -d)
		for i, u := range team {
			in := day.Add(8*time.Hour + 45*time.Minute + time.Duration(i*7)*time.Minute)
			for _, span := range []struct {
				off          time.Duration
				status, note string
			}{{0, parley.StatusOnline, ""}, {3*time.Hour + 45*time.Minute, parley.StatusAway, "Lunch"}, {4*time.Hour + 30*time.Minute, parley.StatusOnline, ""}, {8*time.Hour + 45*time.Minute, parley.StatusOffline, ""}} {
				if t := in.Add(span.off); t.Before(now.Add(-time.Hour)) {
					at(t, func() error {
						_, err := store.SetAgentStatus(ctx, acc.ID, u.ID, parley.StatusChange{Status: span.status, Reason: span.note, Cause: parley.CauseAgent, At: t})
						return err
					})
				}
			}
		}
	}

	var visitors []*parley.Consumer
	for i, name := range demoVisitorNames {
		v := &parley.Consumer{AccountID: acc.ID}
		if i%3 != 2 { // a third never gave their name
			first, _, _ := strings.Cut(name, " ")
			v.Name, v.Email = name, strings.ToLower(strings.NewReplacer("ó", "o", "é", "e", "'", "").Replace(first))+fmt.Sprintf(".%d@example.com", i+1)
		}
		if err := store.CreateConsumer(ctx, v); err != nil {
			return err
		}
		visitors = append(visitors, v)
	}

	// A conversation: the visitor's script with the bot, then — when the
	// bot hands over — a person's.
	type convo struct {
		c     *parley.Conversation
		v     *parley.Consumer
		topic demoTopic
		// problem is which of the topic's explanations the visitor gave,
		// and so which answer is theirs.
		problem int
		agent   *parley.User
	}
	visitorSays := func(cv *convo, text string) error {
		m, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: cv.c.ID, SenderKind: parley.SenderConsumer,
			SenderID: cv.v.ID, SenderName: cv.v.Name, Type: parley.MessageText, Text: text})
		if err != nil {
			return err
		}
		data, _ := json.Marshal(m)
		return rt.Turn(ctx, &parley.Event{AccountID: acc.ID, ConversationID: cv.c.ID, Type: parley.EventMessageCreated, Data: data})
	}
	agentSays := func(cv *convo, text string) error {
		_, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: cv.c.ID, SenderKind: parley.SenderAgent,
			SenderID: cv.agent.ID, SenderName: cv.agent.Name, Type: parley.MessageText, Text: text})
		return err
	}
	withBot := func(cv *convo) bool {
		c, err := store.FindConversation(ctx, acc.ID, cv.c.ID)
		return err == nil && c.State == parley.StateBot
	}
	n := 0
	// start plans one conversation beginning at t. Its kind says how it
	// goes: "bot" (the bot answers, the visitor leaves, auto-close),
	// "talking" (the bot has just answered), "order" (the order flow),
	// "asked" (the bot answers, the visitor wants a person), "person" (a
	// person at once), "waiting" (as "asked", still in the queue); holder,
	// when set, takes it, and the visitor's thanks wait for their answer.
	start := func(t time.Time, kind string, holder *parley.User) {
		n++
		cv := &convo{v: visitors[rng.IntN(len(visitors))], topic: demoTopics[rng.IntN(len(demoTopics))]}
		pv := fmt.Sprintf("pvdemo%05d", n)
		page := "https://northwind.example/" + []string{"jackets/ridge", "jackets/summit", "shoes/trail", "help/delivery", ""}[rng.IntN(5)]
		for i := 0; i < 2+rng.IntN(4); i++ { // pages seen without a chat, and this one
			at(t.Add(-time.Duration(i*11+5)*time.Minute), func() error {
				return store.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventWidgetLoaded, Data: json.RawMessage(fmt.Sprintf(`{"pv":%q,"url":%q}`, fmt.Sprintf("%s-%d", pv, i), page))})
			})
		}
		at(t.Add(-20*time.Second), func() error {
			return store.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventWidgetOpened, Data: json.RawMessage(fmt.Sprintf(`{"pv":%q,"url":%q}`, pv, page))})
		})
		at(t, func() error {
			c, err := store.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: cv.v.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
			cv.c = c
			return err
		})
		step := func(d time.Duration, do func() error) time.Time {
			t = t.Add(d)
			at(t, do)
			return t
		}
		secs := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Second }
		switch kind {
		case "bot", "talking": // the bot answers, and that was all
			step(secs(2, 8), func() error { return visitorSays(cv, pick(cv.topic.ask)) })
			step(secs(10, 40), func() error { return visitorSays(cv, "Yes") })
			if kind == "bot" { // left: auto-close, half an hour later
				step(30*time.Minute, func() error {
					_, err := store.CloseConversation(ctx, acc.ID, cv.c.ID, parley.ConversationClose{Reason: parley.CloseInactive, ClosedBy: "system"})
					if parley.ErrorCode(err) == parley.ECONFLICT {
						return nil
					}
					return err
				})
			}
			return
		case "order": // the order flow, to its end
			step(secs(2, 8), func() error { return visitorSays(cv, "Where is my order?") })
			step(secs(10, 25), func() error { return visitorSays(cv, fmt.Sprint(100200+rng.IntN(800))) })
			email := cv.v.Email
			if email == "" { // a visitor who gave none gives one to the flow
				email = fmt.Sprintf("guest%d@example.com", n)
			}
			step(secs(10, 25), func() error { return visitorSays(cv, email) })
			step(secs(5, 15), func() error { return visitorSays(cv, "No, just tracking") })
			step(30*time.Minute, func() error {
				_, err := store.CloseConversation(ctx, acc.ID, cv.c.ID, parley.ConversationClose{Reason: parley.CloseInactive, ClosedBy: "system"})
				if parley.ErrorCode(err) == parley.ECONFLICT { // the flow closed it already
					return nil
				}
				return err
			})
			return
		}
		// A person, asked for after the bot's answer or straight away.
		if kind == "asked" || kind == "waiting" {
			step(secs(2, 8), func() error { return visitorSays(cv, pick(cv.topic.ask)) })
			step(secs(15, 40), func() error { return visitorSays(cv, "No") })
		}
		step(secs(3, 20), func() error { return visitorSays(cv, "Talk to a person") })
		step(secs(5, 30), func() error {
			cv.problem = rng.IntN(len(cv.topic.explain))
			return visitorSays(cv, cv.topic.explain[cv.problem])
		})
		if kind == "waiting" {
			return
		}
		// Minutes in the queue: mostly short, now and then long.
		wait := secs(15, 150)
		if rng.IntN(6) == 0 {
			wait += secs(120, 420)
		}
		step(wait, func() error {
			if withBot(cv) { // the bot kept it (it understood the explanation)
				return nil
			}
			candidates := team
			if holder != nil {
				candidates = []*parley.User{holder}
			} else {
				candidates = slices.Clone(team)
				rng.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
			}
			for _, u := range candidates {
				c, err := store.ClaimConversation(ctx, acc.ID, cv.c.ID, u.ID)
				if parley.ErrorCode(err) == parley.ECONFLICT { // full: the next one
					continue
				}
				if err != nil {
					return err
				}
				cv.agent = u
				_, _, err = store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: parley.SenderSystem,
					Type: parley.MessageText, Text: u.Name + " joined the conversation", Notice: &parley.Notice{Code: parley.NoticeAgentJoined, Args: map[string]string{"name": u.Name}}})
				return err
			}
			return nil
		})
		taken := func(do func() error) func() error {
			return func() error {
				if cv.agent == nil {
					return nil
				}
				return do()
			}
		}
		step(secs(15, 90), taken(func() error { return agentSays(cv, cv.topic.answer[cv.problem]) }))
		step(secs(20, 90), taken(func() error { return visitorSays(cv, pick(demoThanks)) }))
		if holder != nil { // the visitor wrote last: the demo agent's to answer
			return
		}
		step(secs(20, 60), taken(func() error { return agentSays(cv, "You're welcome! Have a great day.") }))
		step(secs(10, 60), taken(func() error {
			labels := []string{}
			if cv.topic.label != "" {
				labels = append(labels, cv.topic.label)
			}
			if rng.IntN(8) == 0 {
				labels = append(labels, "vip")
			}
			sort.Strings(labels)
			if _, err := store.LabelConversation(ctx, acc.ID, cv.c.ID, labels, cv.agent.ID); err != nil {
				return err
			}
			fields := map[string]string{"topic": cv.topic.topic}
			if cv.topic.topic == "Returns" && rng.IntN(2) == 0 {
				fields["refund"] = "true"
			}
			_, err := store.SetConversationFields(ctx, acc.ID, cv.c.ID, fields, parley.Categories(acc.Settings.ConversationFields), cv.agent.ID)
			return err
		}))
		step(secs(5, 30), taken(func() error {
			_, err := store.CloseConversation(ctx, acc.ID, cv.c.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: cv.agent.ID})
			return err
		}))
		if rng.IntN(4) != 0 { // three in four rate it
			score := []int{5, 5, 5, 5, 4, 4, 4, 3, 2, 1}[rng.IntN(10)]
			comment := pick(demoGoodComments)
			if score <= 2 {
				comment = pick(demoBadComments)
			}
			step(secs(20, 90), taken(func() error { return store.RateConversation(ctx, acc.ID, cv.c.ID, score, comment) }))
		}
	}

	// The week: more on weekdays, from 8:00 to 19:00.
	for d := 6; d >= 0; d-- {
		day := now.Truncate(24*time.Hour).AddDate(0, 0, -d)
		count := 14 + rng.IntN(6)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			count = 6 + rng.IntN(4)
		}
		for i := 0; i < count; i++ {
			t := day.Add(8*time.Hour + time.Duration(rng.IntN(11*3600))*time.Second)
			if t.After(now.Add(-90 * time.Minute)) {
				continue
			}
			kind := []string{"bot", "bot", "bot", "order", "asked", "asked", "person", "person"}[rng.IntN(8)]
			start(t, kind, nil)
		}
	}
	// The present: the demo agent's visitor wrote last, two wait for a
	// person, and one talks to the bot.
	start(now.Add(-25*time.Minute), "asked", agent)
	start(now.Add(-9*time.Minute), "waiting", nil)
	start(now.Add(-4*time.Minute), "waiting", nil)
	start(now.Add(-90*time.Second), "talking", nil)

	sort.SliceStable(plan, func(i, j int) bool { return plan[i].at.Before(plan[j].at) })
	for _, e := range plan {
		if e.at.After(now) {
			break // what the script put after the present has not happened yet
		}
		clock.set(e.at)
		if err := e.do(); err != nil {
			return err
		}
	}
	clock.at.Store(0)
	return nil
}
