// cilium-check computes, with cilium/ebpf as a loader would, the CO-RE fixups of every program of
// every BPF object against a kernel's full BTF and against a minified BTF, and fails unless they
// are identical. Nothing is loaded into the kernel: btf.CORERelocate only computes.
//
//	cilium-check -full FULL.btf -min MIN.btf OBJECT.o...
//
// It prints one JSON object: relocation and program counts, and every difference. Exit code 0
// when the fixups agree, 1 when they differ, 2 when an input cannot be read.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

type report struct {
	Objects     int      `json:"objects"`
	Programs    int      `json:"programs"`
	Relocations int      `json:"relocations"`
	Differences []string `json:"differences"`
}

func main() {
	full := flag.String("full", "", "the kernel's full BTF (raw or ELF)")
	minified := flag.String("min", "", "the BTF minified for the objects")
	flag.Parse()
	if *full == "" || *minified == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: cilium-check -full FULL.btf -min MIN.btf OBJECT.o...")
		os.Exit(2)
	}
	fullSpec, err := btf.LoadSpec(*full)
	if err != nil {
		fail("read full BTF %s: %v", *full, err)
	}
	minSpec, err := btf.LoadSpec(*minified)
	if err != nil {
		fail("read minified BTF %s: %v", *minified, err)
	}
	out := report{Differences: []string{}}
	for _, path := range flag.Args() {
		collection, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			fail("read object %s: %v", path, err)
		}
		out.Objects++
		names := make([]string, 0, len(collection.Programs))
		for name := range collection.Programs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			program := collection.Programs[name]
			var relos []*btf.CORERelocation
			for i := range program.Instructions {
				if relo := btf.CORERelocationMetadata(&program.Instructions[i]); relo != nil {
					relos = append(relos, relo)
				}
			}
			out.Programs++
			out.Relocations += len(relos)
			if len(relos) == 0 {
				continue
			}
			want := fixups(relos, fullSpec, program)
			got := fixups(relos, minSpec, program)
			where := fmt.Sprintf("%s %s", path, name)
			if want.err != got.err {
				out.Differences = append(out.Differences, fmt.Sprintf("%s: full BTF gives %q, minified gives %q", where, want.err, got.err))
				continue
			}
			for i := range want.fixups {
				if want.fixups[i] != got.fixups[i] {
					out.Differences = append(out.Differences, fmt.Sprintf("%s %s: full BTF gives %s, minified gives %s", where, relos[i], want.fixups[i], got.fixups[i]))
				}
			}
		}
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
	if len(out.Differences) > 0 {
		os.Exit(1)
	}
}

type outcome struct {
	fixups []string
	err    string
}

// fixups renders each fixup so two specs compare: a target type ID differs between the full and
// the minified BTF by construction, so TYPE_ID_TARGET compares the type it names instead.
func fixups(relos []*btf.CORERelocation, target *btf.Spec, program *ebpf.ProgramSpec) outcome {
	computed, err := btf.CORERelocate(relos, target, program.ByteOrder)
	if err != nil {
		return outcome{err: err.Error()}
	}
	rendered := make([]string, len(computed))
	for i := range computed {
		text := computed[i].String()
		if strings.HasPrefix(text, "target_type_id=") && !strings.HasSuffix(text, "=poison") {
			var local, id btf.TypeID
			if _, err := fmt.Sscanf(text, "target_type_id=%d->%d", &local, &id); err == nil {
				typ, err := target.TypeByID(id)
				if errors.Is(err, btf.ErrNotFound) || typ == nil {
					text = fmt.Sprintf("target_type_id=%d->missing type %d", local, id)
				} else {
					text = fmt.Sprintf("target_type_id=%d->%s %s", local, kindName(typ), typ.TypeName())
				}
			}
		}
		rendered[i] = text
	}
	return outcome{fixups: rendered}
}

func kindName(typ btf.Type) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", typ), "*btf.")
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cilium-check: "+format+"\n", args...)
	os.Exit(2)
}
