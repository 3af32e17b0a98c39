package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/clinicbot/clinicbot/internal/config"
)

// envVars are the variables Config reads.
func envVars() []string {
	var out []string
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		if name, _, _ := strings.Cut(ct.Field(i).Tag.Get("env"), ","); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// TestEveryVariableDocumented: the README table and .env.example name every
// variable Config reads.
func TestEveryVariableDocumented(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"../../README.md", "../../.env.example"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range envVars() {
			if !strings.Contains(string(data), v) {
				t.Errorf("%s does not document %s", file, v)
			}
		}
	}
}

// TestCompose reads compose.yaml: it parses, the migration runs once
// before two bot replicas, and the proxy fronts the webhook.
func TestCompose(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image     string            `yaml:"image"`
			Build     any               `yaml:"build"`
			Command   []string          `yaml:"command"`
			Restart   string            `yaml:"restart"`
			DependsOn any               `yaml:"depends_on"` // a list or a mapping
			RawEnv    map[string]string `yaml:"environment"`
		} `yaml:"services"`
		Configs map[string]struct {
			Content string `yaml:"content"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"postgres", "redis", "migrate", "bot1", "bot2", "caddy"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	if m := c.Services["migrate"]; strings.Join(m.Command, " ") != "migrate" || m.Restart != "no" {
		t.Errorf("migrate: command %v, restart %q; want a one-off migrate", m.Command, m.Restart)
	}
	for _, name := range []string{"bot1", "bot2"} {
		s := c.Services[name]
		if strings.Join(s.Command, " ") != "serve" {
			t.Errorf("%s: command %v, want serve", name, s.Command)
		}
		deps, _ := s.DependsOn.(map[string]any)
		dep, _ := deps["migrate"].(map[string]any)
		if dep["condition"] != "service_completed_successfully" {
			t.Errorf("%s: does not wait for the migration: %v", name, s.DependsOn)
		}
		for _, v := range []string{"DATABASE_URL", "REDIS_URL", "TELEGRAM_WEBHOOK_URL"} {
			if s.RawEnv[v] == "" {
				t.Errorf("%s: %s not set", name, v)
			}
		}
	}
	if cf := c.Configs["caddyfile"].Content; !strings.Contains(cf, "/telegram") || !strings.Contains(cf, "bot1:8080 bot2:8080") {
		t.Errorf("the Caddyfile does not send /telegram to both replicas:\n%s", cf)
	}
}
