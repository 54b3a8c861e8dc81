package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"pbx/clients"
	"pbx/node"
	"pbx/store"
)

// The ECCP client commands manage the accounts kept in the store, beside
// pbx.yaml's eccp.clients. A running PBX holds the store, so they go
// through its admin API, and a new account logs in at once; when no PBX
// answers, they open the stopped PBX's store themselves.

// eccpCmd is `pbx eccp SUBCOMMAND`.
func eccpCmd(args []string) error {
	if len(args) == 0 || args[0] != "client" {
		return errors.New("eccp: want client add|remove|list")
	}
	if len(args) == 1 {
		return errors.New("eccp client: want add, remove or list")
	}
	switch sub, rest := args[1], args[2:]; sub {
	case "add":
		return eccpClientAdd(rest, os.Stdin)
	case "remove":
		return eccpClientRemove(rest)
	case "list":
		return eccpClientList(rest)
	default:
		return fmt.Errorf("eccp client %s: want add, remove or list", sub)
	}
}

// eccpClientAdd is `pbx eccp client add USER PASSWORD`; a PASSWORD of "-"
// is read from the first line of stdin, to keep it out of the shell's
// history and the process list.
func eccpClientAdd(args []string, stdin io.Reader) error {
	fs := flag.NewFlagSet("eccp client add", flag.ContinueOnError)
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	pos, err := parseWith(fs, args, "USER", "PASSWORD")
	if err != nil {
		return err
	}
	user, password := pos[0], pos[1]
	if password == "-" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return fmt.Errorf("eccp client add: read the password from stdin: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	body, err := json.Marshal(map[string]string{"username": user, "password": password})
	if err != nil {
		return err
	}
	err = writeOrStore(func() error {
		return callPBX(*api, http.MethodPost, node.ECCPClientsPath, "application/json", bytes.NewReader(body), nil)
	}, *dataDir, func(st *store.Store) error { return clients.Add(st, user, password) })
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "eccp client %s added: it logs in with its password or the password's MD5\n", user)
	return err
}

// eccpClientRemove is `pbx eccp client remove USER`.
func eccpClientRemove(args []string) error {
	fs := flag.NewFlagSet("eccp client remove", flag.ContinueOnError)
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	pos, err := parseWith(fs, args, "USER")
	if err != nil {
		return err
	}
	user := pos[0]
	err = writeOrStore(func() error {
		return callPBX(*api, http.MethodDelete, node.ECCPClientsPath+"/"+url.PathEscape(user), "", nil, nil)
	}, *dataDir, func(st *store.Store) error { return clients.Remove(st, user) })
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "eccp client %s removed\n", user)
	return err
}

// eccpClientList is `pbx eccp client list`: the accounts of pbx.yaml and
// the store from a running PBX, the store's only from a stopped one.
// Passwords are never shown.
func eccpClientList(args []string) error {
	fs := flag.NewFlagSet("eccp client list", flag.ContinueOnError)
	format := fs.String("format", "table", "table or json")
	dataDir := dataFlag(fs)
	api := apiFlag(fs)
	if _, err := parseWith(fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return err
	}
	list := []node.ECCPClientInfo{}
	err := askOrRead(func() error {
		return callPBX(*api, http.MethodGet, node.ECCPClientsPath, "", nil, &list)
	}, *dataDir, func(st *store.Store) error {
		stored, err := clients.List(st)
		for _, c := range stored {
			list = append(list, node.ECCPClientInfo{Username: c.Username, Source: "store"})
		}
		return err
	})
	if err != nil {
		return err
	}
	if *format == "json" {
		return printJSON(os.Stdout, list)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tSOURCE")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\n", c.Username, c.Source)
	}
	return tw.Flush()
}

// writeOrStore runs ask against the running PBX; when none answers at
// all, it runs write on the store in dataDir, opened for writing, which
// a stopped PBX left.
func writeOrStore(ask func() error, dataDir string, write func(*store.Store) error) error {
	err := ask()
	if err == nil || !isNoPBX(err) {
		return err
	}
	st, serr := store.Open(dataDir)
	if serr != nil {
		return fmt.Errorf("no running PBX (%v), and its store: %w", err, serr)
	}
	defer st.Close()
	return write(st)
}
