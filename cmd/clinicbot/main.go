// Command clinicbot books, looks up and cancels Hong Kong clinic
// appointments for another person by chat: on Telegram, on WhatsApp, or in
// the terminal.
//
// Usage:
//
//	clinicbot [serve]                  serve the configured chats (the terminal when none is)
//	clinicbot chat [--lang zh-HK|en|zh-CN]
//	clinicbot migrate
//	clinicbot whatsapp login [--phone +852...]
//	clinicbot clinics import FILE      (.yaml, .yml or .json)
//	clinicbot schedule import FILE     (.csv, .yaml or .yml)
//	clinicbot schedule generate [--days N]
//	clinicbot bookings list [--date YYYY-MM-DD] [--clinic ID] [--service clinic|video]
//	clinicbot purge
//
// Configuration comes from environment variables only; see
// README.md for the full table.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // Asia/Hong_Kong on any machine, even a scratch image
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
