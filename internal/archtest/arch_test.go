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
