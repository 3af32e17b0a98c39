package testenv_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/internal/testenv"
)

// TestPostgresSchema: every connection of a pool opened on the URL works
// in the new schema, two tests get two schemas, and the schema is gone
// once its test has ended.
func TestPostgresSchema(t *testing.T) {
	t.Parallel()
	base := testenv.PostgresURL(t)
	var schemas []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			u := testenv.PostgresSchema(t)
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			schema := parsed.Query().Get("search_path")
			if !strings.HasPrefix(schema, "clinicbot_test_") {
				t.Fatalf("URL %s has search_path %q, want a clinicbot_test_ schema", u, schema)
			}
			schemas = append(schemas, schema)
			pool, err := pgxpool.New(t.Context(), u)
			if err != nil {
				t.Fatalf("pgxpool.New: %v", err)
			}
			t.Cleanup(pool.Close)
			// Several connections at once: each has the schema.
			conns := make([]*pgxpool.Conn, 3)
			for i := range conns {
				if conns[i], err = pool.Acquire(t.Context()); err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				defer conns[i].Release()
				var path string
				if err := conns[i].QueryRow(t.Context(), `SHOW search_path`).Scan(&path); err != nil {
					t.Fatalf("SHOW search_path: %v", err)
				}
				if path != schema {
					t.Errorf("connection %d: search_path = %q, want %q", i, path, schema)
				}
			}
			if _, err := pool.Exec(t.Context(), `CREATE TABLE things (id int)`); err != nil {
				t.Fatalf("CREATE TABLE: %v", err)
			}
			var in string
			if err := pool.QueryRow(t.Context(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'things' AND table_schema = current_schema()`).Scan(&in); err != nil || in != schema {
				t.Errorf("table things in %q, %v; want %q", in, err, schema)
			}
		})
	}
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas = %v, want two different ones", schemas)
	}
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var left int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1)`, schemas).Scan(&left); err != nil {
		t.Fatalf("look for the schemas: %v", err)
	}
	if left != 0 {
		t.Errorf("%d of the schemas %v are left after their tests, want none", left, schemas)
	}
}

// TestRedisPrefix: a test's keys are deleted when it ends, and only its
// own, even when its name holds characters special to MATCH.
func TestRedisPrefix(t *testing.T) {
	t.Parallel()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	ctx := context.WithoutCancel(t.Context())
	var prefixes, written []string
	var decoy string
	t.Cleanup(func() { client.Del(ctx, decoy) })
	for _, name := range []string{"plain", "glob[*?]"} {
		t.Run(name, func(t *testing.T) {
			prefix := testenv.RedisPrefix(t)
			if !strings.HasPrefix(prefix, "clinicbot-test:"+t.Name()+":") || !strings.HasSuffix(prefix, ":") {
				t.Fatalf("prefix = %q, want clinicbot-test:%s:<random>:", prefix, t.Name())
			}
			prefixes = append(prefixes, prefix)
			for _, k := range []string{"a", "sess:{telegram:1}", "upd:{telegram:1}:7"} {
				if err := client.Set(ctx, prefix+k, "x", 0).Err(); err != nil {
					t.Fatal(err)
				}
				written = append(written, prefix+k)
			}
			if name == "glob[*?]" {
				// Matched by the prefix taken as a pattern, but not under it.
				decoy = strings.Replace(prefix, "[*?]", "*", 1) + "a"
				if err := client.Set(ctx, decoy, "x", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if len(prefixes) != 2 || prefixes[0] == prefixes[1] {
		t.Fatalf("prefixes = %q, want two different ones", prefixes)
	}
	if n, err := client.Exists(ctx, written...).Result(); err != nil || n != 0 {
		t.Errorf("Exists(the tests' keys) = %d, %v; want 0: keys left after their tests", n, err)
	}
	if n, err := client.Exists(ctx, decoy).Result(); err != nil || n != 1 {
		t.Errorf("Exists(%q) = %d, %v; want 1: a key not under the prefix was deleted", decoy, n, err)
	}
}
