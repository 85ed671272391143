// go_writer: the Go program of the Go tests. Go's os package writes with its own system
// calls (no libc), so no preload library sees them; Spillway serves it through the FUSE union.
//
//	go_writer NEW MiB APPENDED MiB
//	go_writer --env
//
// creates NEW (os.Create) and writes MiB mebibytes of a fixed pseudo-random stream into it,
// then opens the existing file APPENDED with O_APPEND and appends MiB more of the same stream;
// it prints the sha256 of each file as written ("sha256 HEX PATH") and exits 0 only if every
// write succeeded. With --env it prints how the launcher started it (SPILLWAY_PROGRAM, LD_PRELOAD).
package main

import (
	"crypto/sha256"
	"fmt"
	"math/rand"
	"os"
	"strconv"
)

// How the program was built (cgo.go or nocgo.go); printed first.
var linkedWith string

func itoa(n int) string { return strconv.Itoa(n) }

func fill(f *os.File, mib int, seed int64) error {
	source := rand.New(rand.NewSource(seed))
	block := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		source.Read(block)
		if _, err := f.Write(block); err != nil {
			return err
		}
	}
	return f.Sync()
}

// writeOrExit opens a file with open, fills it with mib MiB of stream seed and closes it,
// or exits 1 naming the step.
func writeOrExit(step string, mib int, seed int64, open func() (*os.File, error)) {
	f, err := open()
	if err == nil {
		err = fill(f, mib, seed)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_writer: "+step+":", err)
		os.Exit(1)
	}
}

func digest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(data)), nil
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--env" {
		fmt.Printf("SPILLWAY_PROGRAM=%s LD_PRELOAD=%s\n", os.Getenv("SPILLWAY_PROGRAM"), os.Getenv("LD_PRELOAD"))
		return
	}
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: go_writer NEW MiB APPENDED MiB")
		os.Exit(2)
	}
	newMiB, err1 := strconv.Atoi(os.Args[2])
	appendMiB, err2 := strconv.Atoi(os.Args[4])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "go_writer: sizes are whole MiB")
		os.Exit(2)
	}
	fmt.Println("go_writer:", linkedWith)
	// os.Create, then an append (O_APPEND) to a file that exists already.
	writeOrExit("create", newMiB, 1, func() (*os.File, error) { return os.Create(os.Args[1]) })
	writeOrExit("append", appendMiB, 2, func() (*os.File, error) { return os.OpenFile(os.Args[3], os.O_WRONLY|os.O_APPEND, 0) })
	for _, path := range []string{os.Args[1], os.Args[3]} {
		sum, err := digest(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go_writer: read back:", err)
			os.Exit(1)
		}
		fmt.Printf("sha256 %s %s\n", sum, path)
	}
}
