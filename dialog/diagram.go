package dialog

import (
	"fmt"
	"strings"
)

//go:generate go run ./internal/mkdiagram flow.mmd ../README.md

// Diagram returns the conversation's state diagram in Mermaid syntax,
// drawn from the flow tables: one composite state per flow, each spliced
// sub-flow drawn once on its own and as one node in the flows that use it.
func Diagram() string {
	var b strings.Builder
	b.WriteString("%% Generated from the flow tables by `go generate ./dialog`; do not edit.\n")
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s\n", stMenu)
	c := conversation
	var across []string
	for _, f := range c.flows {
		indent := "    "
		if f.name != "" {
			fmt.Fprintf(&b, "    state \"%s\" as %s {\n", f.title, f.name)
			indent = "        "
		}
		drawn := map[string]bool{}
		for _, st := range f.steps {
			node := f.prefix + st.name
			if st.sub != "" {
				node = f.prefix + st.sub
			}
			if !drawn[node] {
				drawn[node] = true
				title := label(st)
				if st.sub != "" {
					title = st.sub
				}
				fmt.Fprintf(&b, "%s%s: %s\n", indent, node, title)
			}
			for _, event := range sortedKeys(st.next) {
				dst := c.node(c.resolve(f, st.next[event]))
				if dst == node {
					continue // inside the sub-flow, drawn on its own
				}
				edge := fmt.Sprintf("%s --> %s: %s", node, dst, event)
				if c.states[c.resolve(f, st.next[event])].table != f.name || f.name == "" {
					across = append(across, edge)
					continue
				}
				fmt.Fprintf(&b, "%s%s\n", indent, edge)
			}
		}
		if f.name != "" {
			b.WriteString("    }\n")
		}
	}
	for _, e := range across {
		fmt.Fprintf(&b, "    %s\n", e)
	}
	drawSub(&b, "identify", "identify: spliced into A, B and C", identify("tip.book", "1970/1/1", ""))
	b.WriteString("    note right of menu\n")
	b.WriteString("        From every step: /start and /menu go to menu; /exit, exit, 離開 and 离开 leave the flow;\n")
	b.WriteString("        /back returns to the previous step with its answers; /language opens language;\n")
	b.WriteString("        five invalid answers at one step end the flow.\n")
	b.WriteString("    end note\n")
	return b.String()
}

// node is the diagram node of state: its sub-flow's, for a spliced step.
func (c *chart) node(state string) string {
	info := c.states[state]
	if info.sub == "" {
		return state
	}
	return strings.TrimSuffix(state, info.name) + info.sub
}

// drawSub draws a sub-flow once; where it leads when done is its end.
func drawSub(b *strings.Builder, name, title string, steps []step) {
	fmt.Fprintf(b, "    state \"%s\" as %s {\n", title, name)
	fmt.Fprintf(b, "        [*] --> %s_%s\n", name, steps[0].name)
	local := map[string]bool{}
	for _, st := range steps {
		local[st.name] = true
	}
	for _, st := range steps {
		fmt.Fprintf(b, "        %s_%s: %s\n", name, st.name, label(st))
		for _, event := range sortedKeys(st.next) {
			dst := "[*]"
			if to := st.next[event]; local[to] {
				dst = name + "_" + to
			}
			fmt.Fprintf(b, "        %s_%s --> %s: %s\n", name, st.name, dst, event)
		}
	}
	b.WriteString("    }\n")
}

// label is what the diagram writes in a step's box.
func label(st step) string {
	if st.note == "" {
		return st.name
	}
	return st.name + " · " + st.note
}

// Markers of the diagram's block in a Markdown file.
const (
	diagramBegin = "<!-- flow.mmd -->\n"
	diagramEnd   = "<!-- /flow.mmd -->\n"
)

// EmbedDiagram returns doc, a Markdown text, with the fenced Mermaid block
// between its diagram markers replaced by diagram.
func EmbedDiagram(doc, diagram string) (string, error) {
	before, rest, ok := strings.Cut(doc, diagramBegin)
	if !ok {
		return "", fmt.Errorf("no %q marker", strings.TrimSpace(diagramBegin))
	}
	_, after, ok := strings.Cut(rest, diagramEnd)
	if !ok {
		return "", fmt.Errorf("no %q marker", strings.TrimSpace(diagramEnd))
	}
	return before + diagramBegin + "```mermaid\n" + diagram + "```\n" + diagramEnd + after, nil
}
