package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// chatBase is added to a booker's number to make its Telegram chat ID.
const chatBase = 10_000_000

func bookerOf(i int) booking.Booker {
	return booking.Booker{Channel: booking.ChannelTelegram, ID: strconv.Itoa(chatBase + i)}
}

// update is booker i's action a as the router receives it.
func update(i int, a action) bot.Update {
	return bot.Update{Booker: bookerOf(i), ID: strconv.Itoa(chatBase+i) + "-" + a.update, Input: a.input()}
}

// routerConn hands actions to a router in process.
type routerConn struct{ h bot.Handler }

func (c routerConn) Send(ctx context.Context, i int, a action) (screen, error) {
	res, err := c.h.Handle(ctx, update(i, a))
	if err != nil {
		return screen{}, err
	}
	return screenOf(res), nil
}

// wireUpdate and wireScreen are what the load tool and its worker process
// exchange over loopback HTTP.
type wireUpdate struct {
	Booker int          `json:"b"`
	ID     string       `json:"id"`
	Input  dialog.Input `json:"in"`
}

type wireScreen struct {
	Step    step     `json:"s"`
	Options []string `json:"o,omitempty"`
	Nonce   string   `json:"n,omitempty"`
	Keys    []string `json:"k,omitempty"`
}

// workerConn sends actions to the worker process, whose address changes
// when it is started again.
type workerConn struct {
	addr   atomic.Pointer[string]
	client *http.Client
}

func (c *workerConn) Send(ctx context.Context, i int, a action) (screen, error) {
	addr := c.addr.Load()
	if addr == nil {
		return screen{}, errors.New("worker: not running")
	}
	body, err := json.Marshal(wireUpdate{Booker: i, ID: a.update, Input: a.input()})
	if err != nil {
		return screen{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+*addr+"/update", bytes.NewReader(body))
	if err != nil {
		return screen{}, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return screen{}, fmt.Errorf("worker: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return screen{}, fmt.Errorf("worker: status %d", resp.StatusCode)
	}
	var w wireScreen
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		return screen{}, fmt.Errorf("worker: decode: %w", err)
	}
	return screen{step: w.Step, options: w.Options, nonce: w.Nonce, keys: w.Keys}, nil
}

// workerHandler serves the worker's /update: one update through the router.
func workerHandler(h bot.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /update", func(w http.ResponseWriter, r *http.Request) {
		var u wireUpdate
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		res, err := h.Handle(r.Context(), update(u.Booker, action{update: u.ID, text: u.Input.Text, option: u.Input.Option, nonce: u.Input.Nonce}))
		if err != nil {
			http.Error(w, "closed", http.StatusServiceUnavailable)
			return
		}
		sc := screenOf(res)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wireScreen{Step: sc.step, Options: sc.options, Nonce: sc.nonce, Keys: sc.keys})
	})
	return mux
}
