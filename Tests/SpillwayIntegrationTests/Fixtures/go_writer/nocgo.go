//go:build !cgo

package main

func init() { linkedWith = "no cgo" }
