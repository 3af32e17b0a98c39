package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/clinicbot/clinicbot"

// deps lists the packages pkg imports, directly or not, as `go list -deps`
// sees them.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestImportsPointInward(t *testing.T) {
	t.Parallel()
	drivers := []string{
		"github.com/jackc/pgx",
		"github.com/redis/go-redis",
		"github.com/go-telegram-bot-api",
		"go.mau.fi/whatsmeow",
		"modernc.org/sqlite",
	}
	tests := []struct {
		pkg string
		// allowed reports whether pkg may depend on dep.
		allowed func(dep string) bool
	}{
		{
			pkg: module + "/booking",
			allowed: func(dep string) bool {
				// The domain imports only the standard library.
				return dep == module+"/booking" || !strings.Contains(strings.Split(dep, "/")[0], ".")
			},
		},
		{
			pkg: module + "/locales",
			allowed: func(dep string) bool {
				return dep == module+"/locales" || !strings.HasPrefix(dep, module+"/")
			},
		},
		{
			pkg: module + "/dialog",
			allowed: func(dep string) bool {
				for _, d := range drivers {
					if strings.HasPrefix(dep, d) {
						return false
					}
				}
				return !strings.HasPrefix(dep, module+"/bot") && !strings.HasPrefix(dep, module+"/booking/")
			},
		},
		{
			// The staff console works on booking's interfaces: no chat SDK,
			// no store driver, no conversation.
			pkg: module + "/staff",
			allowed: func(dep string) bool {
				for _, d := range drivers {
					if strings.HasPrefix(dep, d) {
						return false
					}
				}
				return !strings.HasPrefix(dep, module+"/bot") && !strings.HasPrefix(dep, module+"/dialog") &&
					!strings.HasPrefix(dep, module+"/booking/")
			},
		},
		{
			pkg: module + "/bot",
			allowed: func(dep string) bool {
				for _, d := range drivers {
					if strings.HasPrefix(dep, d) {
						return false
					}
				}
				return !strings.HasPrefix(dep, module+"/bot/")
			},
		},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.pkg, module+"/"), func(t *testing.T) {
			t.Parallel()
			for _, dep := range deps(t, tt.pkg) {
				if !tt.allowed(dep) {
					t.Errorf("%s imports %s", tt.pkg, dep)
				}
			}
		})
	}
}

// TestAdaptersStayApart keeps each chat adapter the only importer of its SDK
// and keeps adapters from importing each other.
func TestAdaptersStayApart(t *testing.T) {
	t.Parallel()
	tests := []struct{ pkg, forbidden string }{
		{module + "/bot/telegram", "go.mau.fi/whatsmeow"},
		{module + "/bot/telegram", module + "/bot/whatsapp"},
		{module + "/bot/whatsapp", "github.com/go-telegram-bot-api"},
		{module + "/bot/whatsapp", module + "/bot/telegram"},
		{module + "/bot/console", "go.mau.fi/whatsmeow"},
		{module + "/bot/console", "github.com/go-telegram-bot-api"},
		{module + "/bot/console", module + "/bot/telegram"},
		{module + "/bot/console", module + "/bot/whatsapp"},
		{module + "/bot/telegram", module + "/bot/console"},
		{module + "/bot/whatsapp", module + "/bot/console"},
	}
	for _, tt := range tests {
		for _, dep := range deps(t, tt.pkg) {
			if strings.HasPrefix(dep, tt.forbidden) {
				t.Errorf("%s imports %s", tt.pkg, dep)
			}
		}
	}
}

// TestStoresKeepTheirDriver lets each package under booking/ depend on no
// database driver but its own store's: the SQL the stores share
// (booking/internal/sqlstore) on none.
func TestStoresKeepTheirDriver(t *testing.T) {
	t.Parallel()
	drivers := map[string]string{ // a driver's import path prefix: the one package that may use it
		"github.com/jackc/": module + "/booking/postgres",
		"modernc.org/":      module + "/booking/sqlite",
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/booking/...").Output()
	if err != nil {
		t.Fatalf("go list %s/booking/...: %v", module, err)
	}
	pkgs := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkgs++
		pkg, deps := fields[0], fields[1:]
		for prefix, owner := range drivers {
			if pkg == owner {
				continue
			}
			for _, dep := range deps {
				if strings.HasPrefix(dep, prefix) {
					t.Errorf("%s imports %s, a driver only %s may use", pkg, dep, owner)
					break
				}
			}
		}
	}
	if pkgs < 4 {
		t.Errorf("go list %s/booking/... named %d packages, want the domain, both stores and more", module, pkgs)
	}
}
