//go:build cgo

// With cgo the program is linked against glibc (PT_INTERP), as most Go programs that use
// net or os/user are, and still writes through Go's own system calls.
package main

// #include <unistd.h>
import "C"

func init() { linkedWith = "cgo, pid " + itoa(int(C.getpid())) }
