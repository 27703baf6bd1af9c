// btf-embed-lookup is how a Go project uses the btf_embed.go that `btfmill pull --emit go`
// writes: it looks a host up in the embedded tree and hands the bytes to cilium/ebpf.
//
//	btf-embed-lookup ID VERSION_ID ARCH RELEASE [TYPE]
//
// It prints one JSON object: whether the kernel was found, the file's size, how many types
// cilium/ebpf read from it, and whether TYPE (a struct, enum, ... name) is among them.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"btfs"

	"github.com/cilium/ebpf/btf"
)

type result struct {
	Found   bool   `json:"found"`
	Size    int    `json:"size"`
	Types   int    `json:"types"`
	HasType bool   `json:"hasType"`
	Error   string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: btf-embed-lookup ID VERSION_ID ARCH RELEASE [TYPE]")
		os.Exit(2)
	}
	var out result
	data, err := btfs.Lookup(os.Args[1], os.Args[2], os.Args[3], os.Args[4])
	switch {
	case errors.Is(err, btfs.ErrNotFound):
	case err != nil:
		out.Error = err.Error()
	default:
		out.Found = true
		out.Size = len(data)
		spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
		if err != nil {
			out.Error = err.Error()
			break
		}
		for iter := spec.Iterate(); iter.Next(); {
			out.Types++
		}
		if len(os.Args) > 5 {
			_, err := spec.AnyTypeByName(os.Args[5])
			out.HasType = err == nil
		}
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
}
