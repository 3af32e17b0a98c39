package whatsapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"go.mau.fi/whatsmeow/types"
)

// SQLAddressBook is an AddressBook kept in a database (the device store's,
// by its DSN), so that notices reach caregivers after a restart and from
// whichever replica holds the connection. Each chat address (a phone
// number) is stored sealed: only the booker id, a pseudonym, is in clear.
// It is safe for concurrent use.
type SQLAddressBook struct {
	db         *sql.DB
	upsert     string
	seal, open func([]byte) ([]byte, error)
	mu         sync.Mutex
	known      map[string]types.JID // what the table holds, as far as this process knows
	maxKnown   int
}

// addressTable is the table of SQLAddressBook: clinicbot's own, beside
// whatsmeow's (whatsmeow_*), which it never touches.
const addressTable = "clinicbot_whatsapp_chats"

// OpenAddressBook opens the address book in the database of dialect and
// dsn (as OpenDeviceStore takes them), creating its table if need be.
// seal and open encrypt and decrypt an address (booking.Protector's Seal
// and Open with an aad of their own).
func OpenAddressBook(ctx context.Context, dialect, dsn string, seal, open func([]byte) ([]byte, error)) (*SQLAddressBook, error) {
	driver, blob := "sqlite", "BLOB"
	switch dialect {
	case DialectSQLite:
		dsn = sqlitePragmas(dsn)
	case DialectPostgres:
		driver, blob = "pgx", "bytea"
	default:
		return nil, fmt.Errorf("whatsapp: address book dialect %q: want %q or %q", dialect, DialectSQLite, DialectPostgres)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: open address book: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+addressTable+` (
		booker_id   TEXT PRIMARY KEY,
		chat_sealed `+blob+` NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("whatsapp: create address book: %w", err)
	}
	return &SQLAddressBook{
		db: db, seal: seal, open: open, known: make(map[string]types.JID), maxKnown: 100_000,
		upsert: `INSERT INTO ` + addressTable + ` (booker_id, chat_sealed) VALUES ($1, $2)
			ON CONFLICT (booker_id) DO UPDATE SET chat_sealed = excluded.chat_sealed`,
	}, nil
}

// Remember records the chat of bookerID; a chat already recorded by this
// process costs nothing.
func (b *SQLAddressBook) Remember(ctx context.Context, bookerID string, chat types.JID) error {
	b.mu.Lock()
	same := b.known[bookerID] == chat
	b.mu.Unlock()
	if same {
		return nil
	}
	sealed, err := b.seal([]byte(chat.String()))
	if err != nil {
		return fmt.Errorf("whatsapp: seal chat address: %w", err)
	}
	if _, err := b.db.ExecContext(ctx, b.upsert, bookerID, sealed); err != nil {
		return fmt.Errorf("whatsapp: remember chat address: %w", err)
	}
	b.learn(bookerID, chat)
	return nil
}

// Chat returns the chat of bookerID, if recorded.
func (b *SQLAddressBook) Chat(ctx context.Context, bookerID string) (types.JID, bool, error) {
	b.mu.Lock()
	chat, ok := b.known[bookerID]
	b.mu.Unlock()
	if ok {
		return chat, true, nil
	}
	var sealed []byte
	err := b.db.QueryRowContext(ctx, `SELECT chat_sealed FROM `+addressTable+` WHERE booker_id = $1`, bookerID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return types.JID{}, false, nil
	}
	if err != nil {
		return types.JID{}, false, fmt.Errorf("whatsapp: chat address: %w", err)
	}
	plain, err := b.open(sealed)
	if err != nil {
		return types.JID{}, false, fmt.Errorf("whatsapp: open chat address: %w", err)
	}
	if chat, err = types.ParseJID(string(plain)); err != nil {
		return types.JID{}, false, fmt.Errorf("whatsapp: chat address: %w", err)
	}
	b.learn(bookerID, chat)
	return chat, true, nil
}

// learn caches an address, forgetting all once the cache is full (the
// table still holds them).
func (b *SQLAddressBook) learn(bookerID string, chat types.JID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.known) >= b.maxKnown {
		clear(b.known)
	}
	b.known[bookerID] = chat
}

// Close closes the database.
func (b *SQLAddressBook) Close() error { return b.db.Close() }
