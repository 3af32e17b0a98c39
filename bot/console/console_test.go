package console

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// recorder answers every update with a fixed script and records what it got.
type recorder struct {
	bot.Lines // per-booker order, as the router keeps it
	got       []bot.Update
	answers   []dialog.Result
	fail      map[int]error
}

func (r *recorder) Handle(_ context.Context, u bot.Update) (dialog.Result, error) {
	i := len(r.got)
	r.got = append(r.got, u)
	if err := r.fail[i]; err != nil {
		return dialog.Result{}, err
	}
	if i < len(r.answers) {
		return r.answers[i], nil
	}
	return dialog.Result{Replies: []dialog.Reply{{Text: "echo"}}}, nil
}

func TestRun(t *testing.T) {
	t.Parallel()
	menu := dialog.Result{Replies: []dialog.Reply{{Text: "主選單", Nonce: "n1", Options: []dialog.Option{{ID: "book", Label: "為他人預約"}, {ID: "enquire", Label: "為他人查詢"}}}}}
	ask := dialog.Result{Replies: []dialog.Reply{{Text: "證件號碼？"}}}
	rec := &recorder{
		answers: []dialog.Result{menu, menu, ask},
		fail:    map[int]error{4: errors.New("boom")},
	}
	var out strings.Builder
	c := &Chat{Handler: rec, Lang: "en", In: strings.NewReader("\n2\n  1  \n1\nA123456(3)\n"), Out: &out}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("Run = %v", err)
	}
	type in struct {
		Kind         dialog.InputKind
		Text, Option string
		Nonce, Lang  string
	}
	var got []in
	ids := map[string]bool{}
	for _, u := range rec.got {
		if u.Booker != Booker {
			t.Errorf("booker %v, want %v", u.Booker, Booker)
		}
		if ids[u.ID] {
			t.Errorf("update id %q used twice", u.ID)
		}
		ids[u.ID] = true
		got = append(got, in{u.Input.Kind, u.Input.Text, u.Input.Option, u.Input.Nonce, u.Input.LanguageHint})
	}
	want := []in{
		{Kind: dialog.InputText, Text: "/start", Lang: "en"},
		{Kind: dialog.InputOption, Option: "enquire", Nonce: "n1", Lang: "en"},
		{Kind: dialog.InputOption, Option: "book", Nonce: "n1", Lang: "en"},
		// The last answer offered no options: "1" is typed text.
		{Kind: dialog.InputText, Text: "1", Lang: "en"},
		{Kind: dialog.InputText, Text: "A123456(3)", Lang: "en"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if n := strings.Count(out.String(), Separator); n != len(want) {
		t.Errorf("%d reply blocks, want %d:\n%s", n, len(want), out.String())
	}
	for _, s := range []string{"  1. 為他人預約\n  2. 為他人查詢\n", "證件號碼？", "(error: boom)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestRunEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr, pw := io.Pipe() // never written: a terminal nobody types in
	defer pw.Close()
	c := &Chat{Handler: &recorder{}, In: pr, Out: &strings.Builder{}}
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run(cancelled) = %v, want nil", err)
	}
}
