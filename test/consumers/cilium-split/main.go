// cilium-split reads a kernel module's split BTF against its base with cilium/ebpf, as a loader
// given ExtraRelocationTargets would, and prints what it found of one struct. cilium/ebpf 0.11.0
// (Debian 13) has btf.LoadSplitSpecFromReader; later releases add btf.LoadSplitSpec(file, base).
//
//	cilium-split -base vmlinux.btf -split MODULE.btf -struct NAME
//
// It prints one JSON object: the types each spec iterates (a split spec of 0.11.0 iterates its own
// types only), and the struct's size and members.
// Exit code 0 when both files read and the struct is there, 2 otherwise.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/cilium/ebpf/btf"
)

type member struct {
	Name      string `json:"name"`
	BitOffset uint32 `json:"bitOffset"`
}

type report struct {
	BaseTypes  int `json:"baseTypes"`
	SplitTypes int `json:"splitTypes"`

	Struct  string   `json:"struct"`
	Size    uint32   `json:"size"`
	Members []member `json:"members"`
}

func main() {
	basePath := flag.String("base", "", "the kernel's full BTF, the split file's base")
	splitPath := flag.String("split", "", "a module's split BTF")
	name := flag.String("struct", "", "a struct the module defines")
	flag.Parse()
	if *basePath == "" || *splitPath == "" || *name == "" {
		fmt.Fprintln(os.Stderr, "usage: cilium-split -base vmlinux.btf -split MODULE.btf -struct NAME")
		os.Exit(2)
	}
	base, err := btf.LoadSpec(*basePath)
	if err != nil {
		fail("read base %s: %v", *basePath, err)
	}
	file, err := os.Open(*splitPath)
	if err != nil {
		fail("%v", err)
	}
	defer file.Close()
	split, err := btf.LoadSplitSpecFromReader(file, base)
	if err != nil {
		fail("read split BTF %s against %s: %v", *splitPath, *basePath, err)
	}
	var found *btf.Struct
	if err := split.TypeByName(*name, &found); err != nil {
		fail("struct %s: %v", *name, err)
	}
	out := report{BaseTypes: count(base), SplitTypes: count(split), Struct: found.Name, Size: found.Size, Members: []member{}}
	for _, m := range found.Members {
		out.Members = append(out.Members, member{Name: m.Name, BitOffset: uint32(m.Offset)})
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
}

func count(spec *btf.Spec) int {
	n := 0
	for it := spec.Iterate(); it.Next(); {
		n++
	}
	return n
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cilium-split: "+format+"\n", args...)
	os.Exit(2)
}
