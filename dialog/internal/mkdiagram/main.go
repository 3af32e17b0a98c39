// Command mkdiagram writes the conversation's state diagram, drawn from the
// flow tables by dialog.Diagram, to a Mermaid file and into the fenced
// block of a Markdown file that sits between the markers
// "<!-- flow.mmd -->" and "<!-- /flow.mmd -->". go generate ./dialog runs
// it; TestDiagram fails when either file is stale.
//
//	mkdiagram flow.mmd ../README.md
package main

import (
	"fmt"
	"os"

	"github.com/clinicbot/clinicbot/dialog"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mkdiagram FILE.mmd FILE.md")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mkdiagram:", err)
		os.Exit(1)
	}
}

func run(mmd, md string) error {
	diagram := dialog.Diagram()
	if err := os.WriteFile(mmd, []byte(diagram), 0o644); err != nil {
		return err
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		return err
	}
	out, err := dialog.EmbedDiagram(string(doc), diagram)
	if err != nil {
		return fmt.Errorf("%s: %w", md, err)
	}
	return os.WriteFile(md, []byte(out), 0o644)
}
