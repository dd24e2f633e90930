package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aisfoundry/ais/api"
)

// AuthCmd groups "ais auth ...": the users and access keys of the S3 API. Meta keeps them, so
// every gateway knows a key as soon as it holds the epoch that made it.
type AuthCmd struct {
	User AuthUserCmd `cmd:"" help:"Create, list and remove S3 users (a user owns the buckets it creates over S3)."`
	Key  AuthKeyCmd  `cmd:"" help:"Create, list and revoke S3 access keys."`
}

// AuthUserCmd groups "ais auth user ...".
type AuthUserCmd struct {
	Create AuthUserCreateCmd `cmd:"" help:"Create a user."`
	Ls     AuthUserLsCmd     `cmd:"" help:"List users."`
	Rm     AuthUserRmCmd     `cmd:"" help:"Remove a user and revoke all its keys (its buckets stay)."`
}

// AuthUserCreateCmd is "ais auth user create NAME".
type AuthUserCreateCmd struct {
	Name string `arg:"" help:"User name: letters, digits, '-', '_', '.', '@'."`
}

// Run creates a user.
func (c *AuthUserCreateCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	if _, err := cl.CreateUser(ctx, c.Name); err != nil {
		return err
	}
	fmt.Fprintf(con.Out, "created user %s; make a key for it: ais auth key create %s\n", c.Name, c.Name)
	return nil
}

// AuthUserLsCmd is "ais auth user ls".
type AuthUserLsCmd struct {
	jsonFlag
}

// Run lists users.
func (c *AuthUserLsCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	users, err := cl.ListUsers(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(con.Out, api.UserList{Users: users})
	}
	if len(users) == 0 {
		fmt.Fprintln(con.Out, "no users; create one with: ais auth user create NAME")
		return nil
	}
	t := newTable("USER", "CREATED")
	for _, u := range users {
		t.add(u.Name, created(u.Created))
	}
	return t.write(con.Out)
}

// AuthUserRmCmd is "ais auth user rm NAME...".
type AuthUserRmCmd struct {
	Names []string `arg:"" help:"Users to remove."`
}

// Run removes users.
func (c *AuthUserRmCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	for _, n := range c.Names {
		if err := cl.DeleteUser(ctx, n); err != nil {
			return fmt.Errorf("user %s: %w", n, err)
		}
		fmt.Fprintf(con.Out, "removed user %s\n", n)
	}
	return nil
}

// AuthKeyCmd groups "ais auth key ...".
type AuthKeyCmd struct {
	Create AuthKeyCreateCmd `cmd:"" help:"Make a new access key for a user (creating the user if it is new); prints the secret once."`
	Ls     AuthKeyLsCmd     `cmd:"" help:"List access keys (never their secrets)."`
	Rm     AuthKeyRmCmd     `cmd:"" help:"Revoke access keys."`
}

// AuthKeyCreateCmd is "ais auth key create USER".
type AuthKeyCreateCmd struct {
	User string `arg:"" help:"The user the key belongs to."`
	Env  bool   `help:"Print shell assignments (AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...) instead of a table."`
	jsonFlag
}

// Run makes a key.
func (c *AuthKeyCreateCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	k, err := cl.CreateKey(ctx, c.User)
	if err != nil {
		return err
	}
	switch {
	case c.JSON:
		return writeJSON(con.Out, k)
	case c.Env:
		fmt.Fprintf(con.Out, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", k.ID, k.Secret)
		return nil
	}
	t := newTable("ACCESS KEY ID", "SECRET ACCESS KEY", "USER")
	t.add(k.ID, k.Secret, k.User)
	if err := t.write(con.Out); err != nil {
		return err
	}
	fmt.Fprintln(con.Err, "keep the secret now: no command shows it again")
	return nil
}

// AuthKeyLsCmd is "ais auth key ls [--user U]".
type AuthKeyLsCmd struct {
	User string `placeholder:"USER" help:"Only this user's keys."`
	jsonFlag
}

// Run lists keys.
func (c *AuthKeyLsCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	keys, err := cl.ListKeys(ctx, c.User)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(con.Out, api.KeyList{Keys: keys})
	}
	if len(keys) == 0 {
		fmt.Fprintln(con.Out, "no access keys; make one with: ais auth key create USER")
		return nil
	}
	t := newTable("ACCESS KEY ID", "USER", "CREATED")
	for _, k := range keys {
		t.add(k.ID, k.User, created(k.Created))
	}
	return t.write(con.Out)
}

// AuthKeyRmCmd is "ais auth key rm ID...".
type AuthKeyRmCmd struct {
	IDs []string `arg:"" name:"id" help:"Access key IDs to revoke."`
}

// Run revokes keys.
func (c *AuthKeyRmCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	for _, id := range c.IDs {
		if err := cl.DeleteKey(ctx, id); err != nil {
			return fmt.Errorf("access key %s: %w", id, err)
		}
		fmt.Fprintf(con.Out, "revoked access key %s\n", id)
	}
	return nil
}

func created(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05")
}
