package testenv

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresSchema creates a schema of the test's own in the test PostgreSQL
// and returns a URL of that database whose every connection works in it:
// the URL's query carries search_path=<schema>, which pgx sends as a run-time
// parameter when it connects (pgx.ParseConfig and pgxpool.ParseConfig keep
// unknown query parameters in RuntimeParams). It skips (fails in CI) as
// PostgresURL does.
//
// The schema is dropped, with everything in it, by a tb.Cleanup that runs
// even when the test's context is done. Cleanups run last registered first,
// so a pool the caller opens on the URL, and closes in a tb.Cleanup of its
// own, is closed before the schema is dropped.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	ctx := context.WithoutCancel(tb.Context())
	// rand.Text is base32 (A-Z, 2-7): lowered, the name needs no quoting
	// in search_path; it is quoted in SQL all the same.
	schema := "clinicbot_test_" + strings.ToLower(rand.Text()[:16])
	ident := pgx.Identifier{schema}.Sanitize()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE SCHEMA ` + ident); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + ident + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
